/* Integrated loudness with libebur128, in parallel over stretches of time. See
 * loudness.h. */
#include "loudness.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ebur128.h>

/* libebur128 1.2's limits: ebur128_init refuses more channels or another rate. */
#define METER_MAX_CHANNELS 64
#define METER_MIN_RATE 16
#define METER_MAX_RATE 2822400

/* A stretch: 100 blocks' steps of 100 ms (10 s), measured by one thread; it starts
 * PRE_STEPS early, so that its first 400 ms block sees its whole window through filters
 * long settled (the K-weighting's slowest pole, the 38 Hz high-pass, decays by e^-48 in
 * 200 ms: below double rounding). Stretches are fixed by the input's length alone, so
 * the figure does not depend on the number of threads. */
#define STRETCH_STEPS 100
#define PRE_STEPS 6
#define MAX_THREADS 64
/* The most samples the meter holds at once: stretches to measure side by side. */
#define WINDOW_SAMPLES ((size_t)64 << 20)

struct loudness_meter {
    int channels, rate, n_groups, threads;
    size_t step;    /* frames per 100 ms, libebur128's (rate + 5) / 10 */
    size_t stretch; /* frames per stretch */
    size_t pre;     /* frames measured before a stretch, not counted */
    /* the window: frames [win_start, win_start + win_len) of the input, interleaved */
    float *win;
    size_t win_cap, win_len, win_start;
    size_t done;    /* frames whose blocks are measured: a multiple of stretch */
    double *blocks; /* block k: the 400 ms ending at frame (k + 4) * step */
    size_t n_blocks, cap_blocks;
    int failed;
};

int loudness_rate_supported(int sample_rate)
{
    return sample_rate >= METER_MIN_RATE && sample_rate <= METER_MAX_RATE;
}

/* BS.1770-4 by position in WAV/SMPTE order (loudness.h); `c` counts over all channels. */
static int channel_position(int c, int channels)
{
    switch (c) {
    case 0: return EBUR128_LEFT;
    case 1: return EBUR128_RIGHT;
    case 2: return EBUR128_CENTER;
    case 3: return channels >= 6 ? EBUR128_UNUSED : EBUR128_LEFT_SURROUND; /* LFE of 5.1 */
    case 4: return channels == 5 ? EBUR128_RIGHT_SURROUND : EBUR128_LEFT_SURROUND;
    case 5: return EBUR128_RIGHT_SURROUND;
    default: return c % 2 ? EBUR128_Mm135 : EBUR128_Mp135; /* weight 1 */
    }
}

loudness_meter *loudness_meter_new(int channels, int sample_rate)
{
    if (channels < 1 || !loudness_rate_supported(sample_rate))
        return NULL;
    loudness_meter *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->channels = channels;
    m->rate = sample_rate;
    m->n_groups = (channels + METER_MAX_CHANNELS - 1) / METER_MAX_CHANNELS;
    m->step = ((size_t)sample_rate + 5) / 10;
    m->stretch = STRETCH_STEPS * m->step;
    m->pre = PRE_STEPS * m->step;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    m->threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    /* two stretches a thread, within WINDOW_SAMPLES, and at least one stretch */
    size_t stretches = 2 * (size_t)m->threads;
    size_t fit = WINDOW_SAMPLES / (size_t)channels / m->stretch;
    if (stretches > fit)
        stretches = fit > 0 ? fit : 1;
    m->win_cap = m->pre + stretches * m->stretch;
    m->win = malloc(m->win_cap * (size_t)channels * sizeof *m->win);
    if (!m->win) {
        free(m);
        return NULL;
    }
    return m;
}

/* One stretch's measurer: libebur128 states for groups of up to 64 channels, each
 * reporting its channels' energy over the last 400 ms (momentary loudness) every 100 ms;
 * a block's energy is their sum (BS.1770: the weighted sum of the channels' mean
 * squares). */
typedef struct stretch_job {
    loudness_meter *m;
    size_t count;        /* stretches in [from, to) */
    size_t from, to;     /* the window's frames to measure: [from, to), global */
    size_t next;         /* the next stretch to take, under lock */
    pthread_mutex_t lock;
} stretch_job;

static void group_free(ebur128_state **st, int n)
{
    for (int g = 0; g < n; g++)
        if (st[g])
            ebur128_destroy(&st[g]);
}

/* Feeds frames [a, b) (global, inside the window) of every group. part: a group's
 * channels of up to step frames, interleaved. */
static int feed(loudness_meter *m, ebur128_state **st, float *part, size_t a, size_t b)
{
    const size_t C = (size_t)m->channels;
    while (a < b) {
        size_t n = b - a < m->step ? b - a : m->step;
        const float *src = m->win + (a - m->win_start) * C;
        for (int g = 0; g < m->n_groups; g++) {
            size_t first = (size_t)g * METER_MAX_CHANNELS;
            size_t k = C - first < METER_MAX_CHANNELS ? C - first : METER_MAX_CHANNELS;
            const float *frames = src;
            if (m->n_groups > 1) { /* this group's channels alone */
                for (size_t i = 0; i < n; i++)
                    memcpy(part + i * k, src + i * C + first, k * sizeof(float));
                frames = part;
            }
            if (ebur128_add_frames_float(st[g], frames, n) != EBUR128_SUCCESS)
                return -1;
        }
        a += n;
    }
    return 0;
}

static int measure_stretch(loudness_meter *m, size_t a, size_t b, ebur128_state **st, float *part)
{
    const size_t C = (size_t)m->channels;
    int rc = 0;
    memset(st, 0, (size_t)m->n_groups * sizeof *st);
    for (int g = 0; g < m->n_groups && !rc; g++) {
        size_t first = (size_t)g * METER_MAX_CHANNELS;
        size_t k = C - first < METER_MAX_CHANNELS ? C - first : METER_MAX_CHANNELS;
        st[g] = ebur128_init((unsigned)k, (unsigned long)m->rate, EBUR128_MODE_M);
        rc = st[g] ? 0 : -1;
        for (size_t c = 0; c < k && !rc; c++)
            rc = ebur128_set_channel(st[g], (unsigned)c, channel_position((int)(first + c), (int)C)) ==
                         EBUR128_SUCCESS ? 0 : -1;
    }
    size_t start = a > m->pre ? a - m->pre : 0; /* the input's first stretch starts cold */
    if (!rc)
        rc = feed(m, st, part, start, a);
    /* every 100 ms boundary in (a, b]: the block ending there, once there are 400 ms */
    for (size_t e = a + m->step; !rc && e <= b; e += m->step) {
        rc = feed(m, st, part, e - m->step, e);
        if (rc || e < 4 * m->step)
            continue;
        double sum = 0.0;
        for (int g = 0; g < m->n_groups && !rc; g++) {
            double lufs;
            rc = ebur128_loudness_momentary(st[g], &lufs) == EBUR128_SUCCESS ? 0 : -1;
            if (!rc && isfinite(lufs))
                sum += pow(10.0, (lufs + 0.691) / 10.0);
        }
        m->blocks[e / m->step - 4] = sum;
    }
    group_free(st, m->n_groups);
    return rc;
}

static void *stretch_worker(void *arg)
{
    stretch_job *job = arg;
    loudness_meter *m = job->m;
    ebur128_state **st = calloc((size_t)m->n_groups, sizeof *st);
    float *part = m->n_groups > 1 ? malloc(m->step * METER_MAX_CHANNELS * sizeof *part) : NULL;
    int rc = !st || (m->n_groups > 1 && !part) ? -1 : 0;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t i = rc || m->failed ? job->count : job->next++;
        if (rc)
            m->failed = 1;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->count)
            break;
        size_t a = job->from + i * m->stretch;
        size_t b = a + m->stretch < job->to ? a + m->stretch : job->to;
        rc = measure_stretch(m, a, b, st, part);
    }
    free(part);
    free(st);
    return NULL;
}

/* Measures the window's frames from m->done to `to` (a stretch boundary, or the input's
 * end), stretches side by side on the meter's threads. */
static int measure(loudness_meter *m, size_t to)
{
    if (to <= m->done)
        return 0;
    size_t last = to / m->step; /* blocks end at boundaries up to here */
    if (last >= 4 && last - 3 > m->cap_blocks) {
        size_t cap = m->cap_blocks ? m->cap_blocks : 1024;
        while (cap < last - 3)
            cap *= 2;
        double *p = realloc(m->blocks, cap * sizeof *p);
        if (!p)
            return -1;
        m->blocks = p;
        m->cap_blocks = cap;
    }
    if (last >= 4 && last - 3 > m->n_blocks)
        m->n_blocks = last - 3;
    stretch_job job = {m, (to - m->done + m->stretch - 1) / m->stretch, m->done, to, 0,
                       PTHREAD_MUTEX_INITIALIZER};
    int n = m->threads < (int)job.count ? m->threads : (int)job.count;
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < n; t++, started++)
        if (pthread_create(&th[t - 1], NULL, stretch_worker, &job) != 0)
            break; /* fewer threads: the ones there take every stretch */
    stretch_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    m->done = to;
    return m->failed ? -1 : 0;
}

int loudness_meter_add(loudness_meter *m, const float *interleaved, size_t frames)
{
    const size_t C = (size_t)m->channels;
    while (frames > 0 && !m->failed) {
        size_t room = m->win_cap - m->win_len;
        size_t n = frames < room ? frames : room;
        memcpy(m->win + m->win_len * C, interleaved, n * C * sizeof(float));
        m->win_len += n;
        interleaved += n * C;
        frames -= n;
        if (m->win_len < m->win_cap)
            break;
        /* full: measure its whole stretches, keep what the next stretch starts with */
        size_t end = m->win_start + m->win_len;
        if (measure(m, end - (end - m->done) % m->stretch) != 0)
            return -1;
        size_t keep = m->win_start + m->win_len - (m->done > m->pre ? m->done - m->pre : 0);
        memmove(m->win, m->win + (m->win_len - keep) * C, keep * C * sizeof(float));
        m->win_start += m->win_len - keep;
        m->win_len = keep;
    }
    return m->failed ? -1 : 0;
}

/* BS.1770-4's gating over the blocks: absolute at -70 LUFS, relative at -10 LU, as
 * libebur128 gates its own. */
static double gated_loudness(const loudness_meter *m)
{
    const double absolute = pow(10.0, (-70.0 + 0.691) / 10.0);
    double sum = 0.0;
    size_t n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i] >= absolute) {
            sum += m->blocks[i];
            n++;
        }
    if (n == 0)
        return -HUGE_VAL;
    double relative = sum / (double)n * 0.1;
    sum = 0.0;
    n = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i] >= absolute && m->blocks[i] >= relative) {
            sum += m->blocks[i];
            n++;
        }
    return n && sum > 0 ? 10.0 * log10(sum / (double)n) - 0.691 : -HUGE_VAL;
}

double loudness_meter_integrated(loudness_meter *m)
{
    if (m->failed || measure(m, m->win_start + m->win_len) != 0)
        return -HUGE_VAL;
    return gated_loudness(m);
}

void loudness_meter_free(loudness_meter *m)
{
    if (!m)
        return;
    free(m->win);
    free(m->blocks);
    free(m);
}
