/* Progress of a run, on stderr: a bar on a terminal (percent, elapsed time, real-time
 * factor, time left), or JSON lines for schedulers and GUIs (--progress json), or
 * nothing (-q, or stderr not a terminal).
 *
 * A JSON line is one object: "event" ("progress", or the caller's: "start", "done",
 * "skipped", "failed", "summary"), "stage" (what runs now: "read" is the first pass
 * over the input, which copies a pipe and measures the loudness; "separate"; "done"),
 * "input", "seconds_done" and "seconds_total" of audio, "elapsed" (seconds since the
 * input's start), "realtime_factor" (audio seconds per second since the stage began,
 * reading and writing included) and "eta" (seconds left in the stage at that pace;
 * null before the first piece). */
#ifndef MRXCL_CLI_PROGRESS_H
#define MRXCL_CLI_PROGRESS_H

#include <cjson/cJSON.h>

typedef enum progress_mode { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON, PROGRESS_NONE } progress_mode;

typedef struct progress {
    progress_mode mode; /* BAR, JSON or NONE once resolved */
    const char *input;
    const char *stage;
    double total_seconds;
    double t0;        /* the input's start */
    double t_stage;   /* the stage's start: the pace is the stage's */
    double last_draw; /* when the bar was last drawn */
    int bar_open;     /* a bar line is on the terminal, without its newline */
} progress;

/* AUTO becomes BAR when stderr is a terminal and not `quiet`, else NONE; JSON stays
 * JSON even with -q (asked for by name). */
progress_mode progress_resolve(progress_mode asked, int quiet);

/* A new input: resets the clock; its length is unknown until progress_set_total. */
void progress_start(progress *p, const char *input);
void progress_set_total(progress *p, double total_seconds);
/* A new stage ("read", "separate"): one JSON line. */
void progress_stage(progress *p, const char *stage);
/* seconds_done of total: redraws the bar (at most 10 times a second, and at the end) or
 * writes a JSON line. */
void progress_update(progress *p, double seconds_done);
/* Ends the bar's line, so that a message can follow. */
void progress_break(progress *p);

/* Writes one JSON line to stderr: `event`, the input, and the fields in `extra` (may be
 * NULL; taken and freed). */
void progress_event(const progress *p, const char *event, cJSON *extra);

#endif /* MRXCL_CLI_PROGRESS_H */
