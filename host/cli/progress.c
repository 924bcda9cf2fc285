/* Progress on stderr, a bar or JSON lines. See progress.h. */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define BAR_REDRAW_SECONDS 0.1

progress_mode progress_resolve(progress_mode asked, int quiet)
{
    if (asked == PROGRESS_JSON)
        return PROGRESS_JSON;
    if (quiet || asked == PROGRESS_NONE)
        return PROGRESS_NONE;
    if (asked == PROGRESS_BAR)
        return PROGRESS_BAR;
    return isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_NONE;
}

void progress_start(progress *p, const char *input)
{
    p->input = input;
    p->stage = "read";
    p->total_seconds = 0.0;
    p->t0 = now_seconds();
    p->t_stage = p->t0;
    p->last_draw = -1.0;
    p->bar_open = 0;
}

void progress_set_total(progress *p, double total_seconds)
{
    p->total_seconds = total_seconds;
}

void progress_event(const progress *p, const char *event, cJSON *extra)
{
    if (p->mode != PROGRESS_JSON) {
        cJSON_Delete(extra);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", event);
    if (p->input)
        cJSON_AddStringToObject(o, "input", p->input);
    for (cJSON *item = extra ? extra->child : NULL; item;) {
        cJSON *next = item->next;
        cJSON_AddItemToObject(o, item->string, cJSON_DetachItemViaPointer(extra, item));
        item = next;
    }
    cJSON_Delete(extra);
    char *line = cJSON_PrintUnformatted(o);
    if (line) {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    free(line);
    cJSON_Delete(o);
}

/* The stage's pace so far: realtime factor and seconds left (NAN before any audio is
 * done). */
static void pace(const progress *p, double done, double *rtf, double *eta)
{
    double spent = now_seconds() - p->t_stage;
    *rtf = done > 0 && spent > 0 ? done / spent : NAN;
    *eta = isfinite(*rtf) ? (p->total_seconds - done) / *rtf : NAN;
}

static void add_number(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, round(v * 1000.0) / 1000.0);
    else
        cJSON_AddNullToObject(o, name);
}

static void json_progress(const progress *p, double done)
{
    double elapsed = now_seconds() - p->t0, rtf, eta;
    pace(p, done, &rtf, &eta);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stage", p->stage);
    add_number(o, "seconds_done", done);
    add_number(o, "seconds_total", p->total_seconds);
    add_number(o, "elapsed", elapsed);
    add_number(o, "realtime_factor", rtf);
    add_number(o, "eta", eta);
    progress_event(p, "progress", o);
}

/* "1:02:03" or "2:03" */
static void clock_text(char *buf, size_t size, double seconds)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, size, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void draw_bar(progress *p, double done)
{
    double elapsed = now_seconds() - p->t0, rtf, eta;
    pace(p, done, &rtf, &eta);
    double share = p->total_seconds > 0 ? done / p->total_seconds : 0.0;
    share = share < 0 ? 0 : share > 1 ? 1 : share;
    char bar[BAR_WIDTH + 1], spent[32], left[32];
    int full = (int)(share * BAR_WIDTH + 0.5);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < full ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    clock_text(spent, sizeof spent, elapsed);
    clock_text(left, sizeof left, eta);
    /* \033[K clears what a longer earlier line left */
    if (isfinite(rtf))
        fprintf(stderr, "\rmrxcl: %s [%s] %3.0f%%  %s elapsed, %.1fx real time, %s left\033[K",
                p->stage, bar, 100.0 * share, spent, rtf, left);
    else
        fprintf(stderr, "\rmrxcl: %s [%s] %3.0f%%  %s elapsed\033[K", p->stage, bar,
                100.0 * share, spent);
    fflush(stderr);
    p->bar_open = 1;
}

void progress_stage(progress *p, const char *stage)
{
    p->stage = stage;
    p->t_stage = now_seconds();
    if (p->mode == PROGRESS_JSON) {
        double elapsed = now_seconds() - p->t0;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "stage", stage);
        add_number(o, "seconds_total", p->total_seconds > 0 ? p->total_seconds : NAN);
        add_number(o, "elapsed", elapsed);
        progress_event(p, "progress", o);
    } else if (p->mode == PROGRESS_BAR) {
        draw_bar(p, 0.0);
    }
}

void progress_update(progress *p, double seconds_done)
{
    if (p->mode == PROGRESS_JSON) {
        json_progress(p, seconds_done);
        return;
    }
    if (p->mode != PROGRESS_BAR)
        return;
    double now = now_seconds();
    int end = seconds_done >= p->total_seconds;
    if (!end && p->last_draw >= 0 && now - p->last_draw < BAR_REDRAW_SECONDS)
        return;
    p->last_draw = now;
    draw_bar(p, seconds_done);
}

void progress_break(progress *p)
{
    if (p->bar_open)
        fputc('\n', stderr);
    p->bar_open = 0;
}
