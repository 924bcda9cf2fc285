/* Audio file input and atomic multi-file output for the mrxcl command-line program.
 * See audio_io.h for the contract. */
#define _POSIX_C_SOURCE 200809L

#include "audio_io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sndfile.h>

#define PATH_CAP 4096
#define READ_CHUNK_FRAMES 65536
#define WRITE_CHUNK_FRAMES 4096

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || err_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* ---- input ------------------------------------------------------------------- */

void audio_free(audio_buffer *audio)
{
    if (!audio)
        return;
    if (audio->data) {
        for (int c = 0; c < audio->channels; c++)
            free(audio->data[c]);
        free(audio->data);
    }
    memset(audio, 0, sizeof *audio);
}

static int grow_channels(audio_buffer *audio, size_t capacity)
{
    if (capacity > SIZE_MAX / sizeof(float))
        return -1;
    for (int c = 0; c < audio->channels; c++) {
        float *p = realloc(audio->data[c], capacity * sizeof(float));
        if (!p)
            return -1;
        audio->data[c] = p;
    }
    return 0;
}

struct audio_reader {
    SNDFILE *sf;
    int fd;
    SF_INFO info;
    float *chunk; /* READ_CHUNK_FRAMES interleaved frames */
    char path[PATH_CAP];
};

audio_reader *audio_reader_open(const char *path, char *err, size_t err_size)
{
    /* Open it ourselves: errno then says what is wrong ("No such file or directory",
     * "Permission denied"), and a directory, which open() accepts, is caught here
     * instead of reaching a decoder. */
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        set_err(err, err_size, "cannot open input '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        set_err(err, err_size, "input '%s' is a directory, not an audio file", path);
        close(fd);
        return NULL;
    }
    audio_reader *r = calloc(1, sizeof *r);
    if (!r) {
        set_err(err, err_size, "out of memory opening input '%s'", path);
        close(fd);
        return NULL;
    }
    r->fd = fd;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->sf = sf_open_fd(fd, SFM_READ, &r->info, 0);
    if (!r->sf) {
        set_err(err, err_size, "cannot decode input '%s': %s", path, sf_strerror(NULL));
        goto fail;
    }
    if (r->info.channels <= 0 || r->info.samplerate <= 0) {
        set_err(err, err_size, "input '%s' has %d channels at %d Hz", path, r->info.channels,
                r->info.samplerate);
        goto fail;
    }
    if (r->info.frames == 0) {
        set_err(err, err_size, "input '%s' has no audio (0 frames)", path);
        goto fail;
    }
    r->chunk = malloc((size_t)READ_CHUNK_FRAMES * (size_t)r->info.channels * sizeof(float));
    if (!r->chunk) {
        set_err(err, err_size, "out of memory reading input '%s'", path);
        goto fail;
    }
    return r;
fail:
    audio_reader_close(r);
    return NULL;
}

int audio_reader_channels(const audio_reader *r) { return r->info.channels; }
int audio_reader_sample_rate(const audio_reader *r) { return r->info.samplerate; }

long long audio_reader_frames(const audio_reader *r)
{
    sf_count_t n = r->info.frames;
    return n > 0 && n != SF_COUNT_MAX && (uint64_t)n < (uint64_t)(SIZE_MAX / sizeof(float)) ? (long long)n
                                                                                            : -1;
}

const char *audio_reader_path(const audio_reader *r) { return r->path; }

int audio_reader_read(audio_reader *r, float *const *channel, size_t frames, size_t *got,
                      char *err, size_t err_size)
{
    const int C = r->info.channels;
    size_t done = 0;
    while (done < frames) {
        size_t want = frames - done < READ_CHUNK_FRAMES ? frames - done : READ_CHUNK_FRAMES;
        sf_count_t n = sf_readf_float(r->sf, r->chunk, (sf_count_t)want);
        if (n <= 0)
            break;
        for (int c = 0; c < C; c++) {
            float *dst = channel[c] + done;
            const float *src = r->chunk + c;
            for (sf_count_t i = 0; i < n; i++)
                dst[i] = src[i * C];
        }
        done += (size_t)n;
    }
    *got = done;
    if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
        set_err(err, err_size, "cannot read input '%s': %s", r->path, sf_strerror(r->sf));
        return -1;
    }
    return 0;
}

int audio_reader_read_interleaved(audio_reader *r, float *interleaved, size_t frames, size_t *got,
                                  char *err, size_t err_size)
{
    sf_count_t n = sf_readf_float(r->sf, interleaved, (sf_count_t)frames);
    *got = n > 0 ? (size_t)n : 0;
    if (sf_error(r->sf) != SF_ERR_NO_ERROR) {
        set_err(err, err_size, "cannot read input '%s': %s", r->path, sf_strerror(r->sf));
        return -1;
    }
    return 0;
}

void audio_reader_close(audio_reader *r)
{
    if (!r)
        return;
    if (r->sf)
        sf_close(r->sf); /* closes nothing of ours: sf_open_fd(..., close_desc 0) */
    close(r->fd);
    free(r->chunk);
    free(r);
}

int audio_read(const char *path, audio_buffer *audio, char *err, size_t err_size)
{
    memset(audio, 0, sizeof *audio);
    audio_reader *r = audio_reader_open(path, err, err_size);
    if (!r)
        return -1;
    int ret = -1;
    float **dst = NULL;
    audio->channels = r->info.channels;
    audio->sample_rate = r->info.samplerate;
    audio->data = calloc((size_t)audio->channels, sizeof *audio->data);
    if (!audio->data)
        goto oom;

    /* The header's frame count, where there is one, sizes the buffers once; growth
     * covers formats that do not know their length in advance. */
    long long known = audio_reader_frames(r);
    size_t capacity = known > 0 ? (size_t)known : READ_CHUNK_FRAMES;
    if (grow_channels(audio, capacity) != 0)
        goto oom;
    dst = malloc((size_t)audio->channels * sizeof *dst);
    if (!dst)
        goto oom;
    for (;;) {
        if (audio->frames == capacity) {
            /* Full: the end of the input, unless the header was short (or absent). */
            if (grow_channels(audio, capacity + READ_CHUNK_FRAMES) != 0)
                goto oom;
            capacity += READ_CHUNK_FRAMES;
        }
        for (int c = 0; c < audio->channels; c++)
            dst[c] = audio->data[c] + audio->frames;
        size_t got = 0;
        if (audio_reader_read(r, dst, capacity - audio->frames, &got, err, err_size) != 0)
            goto done;
        audio->frames += got;
        if (audio->frames < capacity) /* the end of the input */
            break;
        if (known <= 0 && grow_channels(audio, capacity * 2) == 0) /* unknown length: double */
            capacity *= 2;
    }
    if (audio->frames == 0) {
        set_err(err, err_size, "input '%s' has no audio (0 frames)", path);
        goto done;
    }
    ret = 0;
    goto done;
oom:
    set_err(err, err_size, "out of memory reading input '%s' (%d channels, %lld frames)", path,
            r->info.channels, (long long)r->info.frames);
done:
    free(dst);
    audio_reader_close(r);
    if (ret != 0)
        audio_free(audio);
    return ret;
}

/* ---- temporary files and signals --------------------------------------------- */

/* The signal handler's view of the temporary files: a slot's path is written before
 * the slot is marked used, and it is only read by the handler, which only unlinks. */
static char g_temp_path[STEM_WRITER_MAX_STEMS][PATH_CAP];
static volatile sig_atomic_t g_temp_used[STEM_WRITER_MAX_STEMS];
static char g_created_dir[PATH_CAP];
static volatile sig_atomic_t g_created_dir_set;
static volatile sig_atomic_t g_committing;
static volatile sig_atomic_t g_pending_signal;

/* Async-signal-safe: unlink and rmdir only. */
static void remove_temp_files(void)
{
    for (int i = 0; i < STEM_WRITER_MAX_STEMS; i++)
        if (g_temp_used[i])
            unlink(g_temp_path[i]);
    if (g_created_dir_set)
        rmdir(g_created_dir); /* only succeeds when empty */
}

static void on_fatal_signal(int sig)
{
    /* The renames of a commit are not interrupted: stopping half-way would leave a
     * mix of old and new stems. The commit reports the signal when it is done. */
    if (g_committing) {
        g_pending_signal = sig;
        return;
    }
    remove_temp_files();
    _exit(128 + sig);
}

/* A crash (or an abort() in a library) still removes the temporary files, then dies
 * of the same signal (SA_RESETHAND restored the default action). */
static void on_crash_signal(int sig)
{
    remove_temp_files();
    raise(sig);
}

void stem_writer_handle_signals(void)
{
    static const int fatal[] = {SIGINT, SIGTERM, SIGHUP};
    static const int crash[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaddset(&sa.sa_mask, fatal[i]);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
    /* Libraries that call exit() themselves (LLVM inside an OpenCL compiler does, when
     * it cannot write a file) still run atexit handlers. */
    atexit(remove_temp_files);
}

void stem_writer_note_created_dir(const char *dir)
{
    g_created_dir_set = 0;
    if (dir && strlen(dir) < PATH_CAP) {
        memcpy(g_created_dir, dir, strlen(dir) + 1);
        g_created_dir_set = 1;
    }
}

int stem_writer_pending_signal(void)
{
    return (int)g_pending_signal;
}

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* mkstemp() and recording the name happen with the signals blocked, so that no
 * interruption can leave a file the handler does not know of. (sigprocmask covers the
 * calling thread; the writer is opened before the OpenCL runtime starts threads.) */
static int make_temp_file(char *path_template, int *slot_out)
{
    sigset_t old;
    block_signals(&old);
    int fd = mkstemp(path_template);
    int saved_errno = errno;
    int slot = -1;
    if (fd >= 0) {
        for (int i = 0; i < STEM_WRITER_MAX_STEMS; i++) {
            if (!g_temp_used[i]) {
                slot = i;
                break;
            }
        }
        if (slot < 0) { /* more writers than slots: a programming error */
            close(fd);
            unlink(path_template);
            fd = -1;
            saved_errno = EMFILE;
        } else {
            memcpy(g_temp_path[slot], path_template, strlen(path_template) + 1);
            g_temp_used[slot] = 1;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    *slot_out = slot;
    errno = saved_errno;
    return fd;
}

static void release_slot(int slot)
{
    if (slot >= 0 && slot < STEM_WRITER_MAX_STEMS)
        g_temp_used[slot] = 0;
}

/* ---- output ------------------------------------------------------------------ */

typedef struct stem_file {
    SNDFILE *sf;
    int fd;
    int slot;
    int write_errno; /* first failed write, 0 if none */
    char temp_path[PATH_CAP];
    char final_path[PATH_CAP];
} stem_file;

struct stem_writer {
    int n;
    int channels;
    float *interleaved; /* WRITE_CHUNK_FRAMES * channels */
    stem_file file[STEM_WRITER_MAX_STEMS];
};

const char *audio_format_extension(audio_format format)
{
    switch (format) {
    case AUDIO_FLAC:
        return "flac";
    case AUDIO_OGG:
        return "ogg";
    case AUDIO_WAV:
    default:
        return "wav";
    }
}

int stem_name_is_safe(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 31)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static int sndfile_format(audio_format format, audio_subtype subtype, int channels,
                          size_t frames)
{
    int sub;
    switch (subtype) {
    case AUDIO_SUBTYPE_PCM16:
        sub = SF_FORMAT_PCM_16;
        break;
    case AUDIO_SUBTYPE_PCM24:
        sub = SF_FORMAT_PCM_24;
        break;
    case AUDIO_SUBTYPE_FLOAT:
        sub = SF_FORMAT_FLOAT;
        break;
    case AUDIO_SUBTYPE_DEFAULT:
    default:
        sub = format == AUDIO_FLAC ? SF_FORMAT_PCM_24 : SF_FORMAT_FLOAT;
        break;
    }
    if (format == AUDIO_OGG)
        return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    if (format == AUDIO_FLAC)
        return SF_FORMAT_FLAC | sub;
    /* A WAV file cannot exceed 4 GiB (a feature film's 5.1 float stem does): use RF64,
     * WAV's 64-bit extension, only where it is needed. */
    int bytes = sub == SF_FORMAT_PCM_16 ? 2 : sub == SF_FORMAT_PCM_24 ? 3 : 4;
    double data_bytes = (double)frames * (double)channels * (double)bytes;
    int container = data_bytes > 4294967295.0 - 1048576.0 ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
    return container | sub;
}

/* libsndfile writes through these callbacks, so that every failed or short write is
 * seen here, whatever the encoder does with it: its Ogg/Vorbis writer, for one,
 * ignores short writes and would leave a truncated file that looks complete. */
static sf_count_t vio_get_filelen(void *user)
{
    struct stat st;
    return fstat(((stem_file *)user)->fd, &st) == 0 ? (sf_count_t)st.st_size : -1;
}

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    return (sf_count_t)lseek(((stem_file *)user)->fd, (off_t)offset, whence);
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    stem_file *f = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = read(f->fd, (char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        done += r;
    }
    return done;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    stem_file *f = user;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t r = write(f->fd, (const char *)ptr + done, (size_t)(count - done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (!f->write_errno)
                f->write_errno = r < 0 ? errno : ENOSPC;
            break;
        }
        done += r;
    }
    return done;
}

static sf_count_t vio_tell(void *user)
{
    return (sf_count_t)lseek(((stem_file *)user)->fd, 0, SEEK_CUR);
}

static int close_file(stem_file *f, char *err, size_t err_size)
{
    int ret = 0;
    if (f->sf) {
        int e = sf_close(f->sf);
        f->sf = NULL;
        if (f->write_errno) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, strerror(f->write_errno));
            ret = -1;
        } else if (e != 0) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, sf_error_number(e));
            ret = -1;
        }
    }
    if (f->fd >= 0) {
        /* fsync reports write errors that the kernel only sees when the data leaves
         * the page cache (network file systems, some full disks), and makes the
         * rename below replace old data with complete new data after a crash. */
        if (ret == 0 && fsync(f->fd) != 0 && errno != EINVAL && errno != EROFS) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, strerror(errno));
            ret = -1;
        }
        if (close(f->fd) != 0 && ret == 0) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, strerror(errno));
            ret = -1;
        }
        f->fd = -1;
    }
    return ret;
}

static void discard_file(stem_file *f)
{
    char ignored[8];
    close_file(f, ignored, sizeof ignored);
    if (f->slot >= 0) {
        unlink(f->temp_path);
        release_slot(f->slot);
        f->slot = -1;
    }
}

void stem_writer_abort(stem_writer *writer)
{
    if (!writer)
        return;
    for (int i = 0; i < writer->n; i++)
        discard_file(&writer->file[i]);
    free(writer->interleaved);
    free(writer);
}

stem_writer *stem_writer_open(const char *dir, const char *const *names, int n,
                              audio_format format, audio_subtype subtype, int channels,
                              int sample_rate, size_t frames, char *err, size_t err_size)
{
    if (n < 1 || n > STEM_WRITER_MAX_STEMS || channels < 1 || sample_rate < 1) {
        set_err(err, err_size, "cannot write %d stems of %d channels at %d Hz", n, channels,
                sample_rate);
        return NULL;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = sample_rate;
    info.channels = channels;
    info.format = sndfile_format(format, subtype, channels, frames);
    if (!sf_format_check(&info)) {
        set_err(err, err_size, "%s files cannot hold %d channels at %d Hz with this subtype",
                audio_format_extension(format), channels, sample_rate);
        return NULL;
    }
    stem_writer *w = calloc(1, sizeof *w);
    if (!w) {
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < STEM_WRITER_MAX_STEMS; i++) {
        w->file[i].fd = -1;
        w->file[i].slot = -1;
    }
    w->channels = channels;
    w->interleaved = malloc((size_t)WRITE_CHUNK_FRAMES * (size_t)channels * sizeof(float));
    if (!w->interleaved) {
        set_err(err, err_size, "out of memory");
        goto fail;
    }
    /* mkstemp creates 0600 files; the stems should get what any new file gets. */
    mode_t mask = umask(0);
    umask(mask);
    const char *ext = audio_format_extension(format);
    SF_VIRTUAL_IO vio = {vio_get_filelen, vio_seek, vio_read, vio_write, vio_tell};
    int pcm = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16 ||
              (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_24;

    for (int i = 0; i < n; i++) {
        stem_file *f = &w->file[i];
        w->n = i + 1;
        if (!stem_name_is_safe(names[i])) {
            set_err(err, err_size, "unsafe stem name '%s'", names[i]);
            goto fail;
        }
        int a = snprintf(f->final_path, PATH_CAP, "%s/%s.%s", dir, names[i], ext);
        int b = snprintf(f->temp_path, PATH_CAP, "%s/.%s.%s.partial-XXXXXX", dir, names[i], ext);
        if (a < 0 || a >= PATH_CAP || b < 0 || b >= PATH_CAP) {
            set_err(err, err_size, "output directory path is too long: '%s'", dir);
            goto fail;
        }
        f->fd = make_temp_file(f->temp_path, &f->slot);
        if (f->fd < 0) {
            set_err(err, err_size, "cannot create a file in output directory '%s': %s", dir,
                    strerror(errno));
            goto fail;
        }
        fchmod(f->fd, 0666 & ~mask); /* best effort: some file systems have no modes */
        SF_INFO fi = info;
        f->sf = sf_open_virtual(&vio, SFM_WRITE, &fi, f);
        if (!f->sf) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path,
                    f->write_errno ? strerror(f->write_errno) : sf_strerror(NULL));
            goto fail;
        }
        if (pcm)
            sf_command(f->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    }
    return w;
fail:
    stem_writer_abort(w);
    return NULL;
}

int stem_writer_write(stem_writer *writer, int stem, const float *const *channel,
                      size_t frames, char *err, size_t err_size)
{
    if (!writer || stem < 0 || stem >= writer->n || !writer->file[stem].sf) {
        set_err(err, err_size, "internal error: no stem %d to write", stem);
        return -1;
    }
    stem_file *f = &writer->file[stem];
    const int nc = writer->channels;
    for (size_t done = 0; done < frames;) {
        size_t n = frames - done < WRITE_CHUNK_FRAMES ? frames - done : WRITE_CHUNK_FRAMES;
        for (int c = 0; c < nc; c++) {
            const float *src = channel[c] + done;
            float *dst = writer->interleaved + c;
            for (size_t i = 0; i < n; i++)
                dst[i * (size_t)nc] = src[i];
        }
        sf_count_t put = sf_writef_float(f->sf, writer->interleaved, (sf_count_t)n);
        if (f->write_errno) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, strerror(f->write_errno));
            return -1;
        }
        if (put != (sf_count_t)n) {
            set_err(err, err_size, "cannot write '%s': %s", f->final_path, sf_strerror(f->sf));
            return -1;
        }
        done += n;
    }
    return 0;
}

const char *stem_writer_path(const stem_writer *writer, int stem)
{
    if (!writer || stem < 0 || stem >= writer->n)
        return "";
    return writer->file[stem].final_path;
}

static void sync_directory(const char *file_path)
{
    char dir[PATH_CAP];
    memcpy(dir, file_path, strlen(file_path) + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int stem_writer_commit(stem_writer *writer, char *err, size_t err_size)
{
    if (!writer) {
        set_err(err, err_size, "internal error: no writer");
        return -1;
    }
    for (int i = 0; i < writer->n; i++) {
        if (close_file(&writer->file[i], err, err_size) != 0)
            goto fail;
    }
    /* A directory in a stem's place would make its rename fail after the earlier
     * stems were replaced; find it before renaming anything. */
    for (int i = 0; i < writer->n; i++) {
        struct stat st;
        if (lstat(writer->file[i].final_path, &st) == 0 && S_ISDIR(st.st_mode)) {
            set_err(err, err_size, "cannot replace '%s': it is a directory",
                    writer->file[i].final_path);
            goto fail;
        }
    }
    g_committing = 1;
    int renamed = 0;
    for (int i = 0; i < writer->n; i++) {
        stem_file *f = &writer->file[i];
        if (rename(f->temp_path, f->final_path) != 0) {
            int e = errno;
            if (renamed > 0)
                set_err(err, err_size,
                        "cannot rename '%s' to '%s': %s (%d earlier stems were already replaced)",
                        f->temp_path, f->final_path, strerror(e), renamed);
            else
                set_err(err, err_size, "cannot rename '%s' to '%s': %s", f->temp_path,
                        f->final_path, strerror(e));
            break;
        }
        release_slot(f->slot);
        f->slot = -1;
        renamed++;
    }
    g_committing = 0;
    if (renamed != writer->n)
        goto fail;
    sync_directory(writer->file[0].final_path);
    stem_writer_abort(writer); /* nothing left to remove; frees */
    return 0;
fail:
    stem_writer_abort(writer);
    return -1;
}
