/* Atomic multi-file output for the mrxcl command-line program: temporary files renamed
 * into place, and the signal handlers that remove them. See stem_writer.h. */
#define _POSIX_C_SOURCE 200809L

#include "stem_writer.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <sndfile.h>

#include "wav_header.h"

#define PATH_CAP 4096
#define WRITE_CHUNK_FRAMES 4096

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

/* Every signal whose default action ends the process without a core, and that can
 * reach a separation: the terminal's and kill's (INT, TERM, HUP), a reader of stderr
 * that went away (PIPE: `mrxcl separate -v ... 2>&1 | head -2`), timers (ALRM,
 * VTALRM, PROF: `timeout -s ALRM`), the user's (USR1, USR2) and the CPU time limit
 * (XCPU, whose default action also dumps core, but that is a limit, not a crash).
 * XFSZ is ignored instead (below): a write past the file size limit then fails with
 * EFBIG, which is reported like a full disk. */
static const int fatal_signals[] = {SIGINT,  SIGTERM, SIGHUP,    SIGPIPE, SIGALRM,
                                    SIGUSR1, SIGUSR2, SIGVTALRM, SIGPROF, SIGXCPU};
#define N_FATAL_SIGNALS (sizeof fatal_signals / sizeof fatal_signals[0])

static time_t g_run_start;

/* sa for on_fatal_signal, with every fatal signal blocked while it runs. */
static struct sigaction fatal_action(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL_SIGNALS; i++)
        sigaddset(&sa.sa_mask, fatal_signals[i]);
    return sa;
}

static void mask_usr1(int how)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(how, &usr1, NULL);
}

void stem_writer_handle_signals(void)
{
    static const int crash[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    g_run_start = time(NULL);
    struct sigaction sa = fatal_action();
    for (size_t i = 0; i < N_FATAL_SIGNALS; i++) {
        /* nohup ignores HUP for us: it stays ignored. (Other ignored signals are
         * handled: a shell ignores INT in background jobs, and `kill -INT` of such a
         * run has always stopped it cleanly.) */
        struct sigaction was;
        if (fatal_signals[i] == SIGHUP && sigaction(SIGHUP, NULL, &was) == 0 &&
            was.sa_handler == SIG_IGN)
            continue;
        sigaction(fatal_signals[i], &sa, NULL);
    }
    sa.sa_handler = on_crash_signal;
    sa.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
    /* Libraries that call exit() themselves (LLVM inside an OpenCL compiler does, when
     * it cannot write a file) still run atexit handlers. */
    atexit(remove_temp_files);
    /* SIGUSR1 stays blocked, here and in every thread the OpenCL runtime starts from now
     * on, and is taken only in stem_writer_rearm_signals(): LLVM (PoCL's compiler)
     * installs its own handler at its first compile, which takes SIGUSR1 as its "info"
     * signal and goes on, and a signal caught between that and our rearm was lost. */
    mask_usr1(SIG_BLOCK);
}

void stem_writer_rearm_signals(void)
{
    struct sigaction now;
    if (sigaction(SIGUSR1, NULL, &now) == 0 && now.sa_handler != on_fatal_signal) {
        struct sigaction sa = fatal_action();
        sigaction(SIGUSR1, &sa, NULL);
    }
    /* A SIGUSR1 that came while it was blocked is delivered, to ours, on the unblock. */
    mask_usr1(SIG_UNBLOCK);
    mask_usr1(SIG_BLOCK);
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
    for (size_t i = 0; i < N_FATAL_SIGNALS; i++)
        sigaddset(&set, fatal_signals[i]);
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
    int stream;      /* standard output: no temporary file, a header of our own */
    uint64_t pos, expect; /* stream: bytes written, and the bytes its header announces */
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

/* Standard output may be a pipe: positions are counted, nothing is seeked (libsndfile's
 * raw writer asks where it stands, and never moves). */
static sf_count_t stream_write(const void *ptr, sf_count_t count, void *user)
{
    stem_file *f = user;
    sf_count_t done = vio_write(ptr, count, user);
    f->pos += (uint64_t)done;
    return done;
}

static sf_count_t stream_tell(void *user)
{
    return (sf_count_t)((stem_file *)user)->pos;
}

static sf_count_t stream_seek(sf_count_t offset, int whence, void *user)
{
    stem_file *f = user;
    sf_count_t pos = (sf_count_t)f->pos;
    return (whence == SEEK_CUR && offset == 0) || (whence == SEEK_SET && offset == pos) ? pos : -1;
}

static int close_file(stem_file *f, char *err, size_t err_size)
{
    int ret = 0;
    if (f->sf) {
        int e = sf_close(f->sf);
        f->sf = NULL;
        if (f->write_errno) {
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, strerror(f->write_errno));
            ret = -1;
        } else if (e != 0) {
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, sf_error_number(e));
            ret = -1;
        }
    }
    if (ret == 0 && f->stream && f->pos != f->expect) {
        format_message(err, err_size, "cannot write '%s': %llu bytes of the %llu its header "
                       "announces", f->final_path, (unsigned long long)f->pos,
                       (unsigned long long)f->expect);
        ret = -1;
    }
    if (f->fd >= 0) {
        /* fsync reports write errors that the kernel only sees when the data leaves
         * the page cache (network file systems, some full disks), and makes the
         * rename below replace old data with complete new data after a crash. */
        if (ret == 0 && fsync(f->fd) != 0 && errno != EINVAL && errno != EROFS) {
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, strerror(errno));
            ret = -1;
        }
        if (close(f->fd) != 0 && ret == 0) {
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, strerror(errno));
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

/* Measured with libsndfile 1.2 / libvorbis 1.3: an Ogg Vorbis file at 200001 Hz fails at
 * its first write ("Format not recognised": no encoder setup covers the rate), and FLAC
 * above 655350 Hz at the open ("flac does not support this sample rate"). */
#define VORBIS_MAX_RATE 200000
#define FLAC_MAX_RATE 655350

/* The temporary files of a run that was killed (SIGKILL, a power cut) stay behind. A
 * later run into the same directory removes those of the stems it writes, and only
 * when that is safe: the name holds the writer's pid (.NAME.EXT.partial-PID-XXXXXX), a
 * process of that pid no longer exists here, the file is a regular file of this user,
 * and it was last written before this run started. A run on another machine writing
 * into a shared directory could have a pid that is free here; its file is then newer
 * than our start unless it stalled, which is the limit of this check. Partials of the
 * older name form (no pid) cannot be told apart from a live run's and are left. */
static void remove_stale_partials(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    /* NAME.EXT's partials in any of the formats we write: a killed run may have
     * written another format */
    const char *dot = strrchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        if (s[0] != '.' || strncmp(s + 1, name, len) != 0 || s[1 + len] != '.')
            continue;
        const char *ext = s + 2 + len, *rest = strstr(ext, ".partial-");
        if (!rest)
            continue;
        size_t ext_len = (size_t)(rest - ext);
        if (!((ext_len == 3 && (!strncmp(ext, "wav", 3) || !strncmp(ext, "ogg", 3) ||
                                !strncmp(ext, "oga", 3))) ||
              (ext_len == 4 && !strncmp(ext, "flac", 4))))
            continue;
        char *end = NULL;
        long pid = strtol(rest + 9, &end, 10);
        if (end == rest + 9 || pid <= 1 || *end != '-' || strlen(end + 1) != 6 ||
            pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or another user's: not ours to judge */
        char path[PATH_CAP];
        struct stat st;
        int n = snprintf(path, sizeof path, "%s/%s", dir, s);
        if (n < 0 || n >= (int)sizeof path || lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid() || st.st_mtime >= g_run_start)
            continue;
        unlink(path);
    }
    closedir(d);
}

/* Before the first sample. Integer samples clip at full scale: without it libsndfile
 * wraps a sample over 1.0 round to the other sign in PCM WAV, and its FLAC writer fails
 * on it ("No Error"). Float WAVs get no PEAK chunk: it carries the time of writing, so
 * the same separation would never give the same file twice (the peaks are no loss: a
 * reader scans for them). Ogg is the exception that stays: libsndfile gives each Ogg
 * stream a random serial number, as the Ogg format asks. */
static void set_writer_options(SNDFILE *sf, const SF_INFO *info)
{
    int sub = info->format & SF_FORMAT_SUBMASK;
    if (sub == SF_FORMAT_PCM_16 || sub == SF_FORMAT_PCM_24)
        sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
}

/* Splits `path` into its directory ("." when none) and file name. -1 if too long. */
static int split_path(const char *path, char *dir, const char **name)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 1;
    if (dir_len >= PATH_CAP)
        return -1;
    if (!slash)
        memcpy(dir, ".", 2);
    else if (slash == path)
        memcpy(dir, "/", 2);
    else {
        memcpy(dir, path, dir_len);
        dir[dir_len] = '\0';
    }
    *name = slash ? slash + 1 : path;
    return 0;
}

/* Standard output: the WAV header of wav_header.h, then raw samples from libsndfile. */
static int open_stream(stem_file *f, const SF_INFO *info, const audio_spec *spec, char *err,
                       size_t err_size)
{
    static SF_VIRTUAL_IO vio = {stream_tell, stream_seek, vio_read, stream_write, stream_tell};
    int sub = info->format & SF_FORMAT_SUBMASK;
    int bits = sub == SF_FORMAT_PCM_16 ? 16 : sub == SF_FORMAT_PCM_24 ? 24 : 32;
    unsigned char header[WAV_HEADER_MAX];
    size_t n = wav_header(header, spec->channels, spec->sample_rate, bits, sub == SF_FORMAT_FLOAT,
                          spec->frames, spec->channel_map);
    f->stream = 1;
    f->expect = n + (uint64_t)spec->frames * (uint64_t)spec->channels * (uint64_t)(bits / 8);
    f->fd = dup(STDOUT_FILENO);
    if (f->fd < 0 || stream_write(header, (sf_count_t)n, f) != (sf_count_t)n) {
        format_message(err, err_size, "cannot write '%s': %s", f->final_path,
                       strerror(f->fd < 0 ? errno : f->write_errno));
        return -1;
    }
    SF_INFO raw = *info;
    raw.format = SF_FORMAT_RAW | sub | SF_ENDIAN_LITTLE;
    f->sf = sf_open_virtual(&vio, SFM_WRITE, &raw, f);
    if (!f->sf) {
        format_message(err, err_size, "cannot write '%s': %s", f->final_path, sf_strerror(NULL));
        return -1;
    }
    set_writer_options(f->sf, &raw);
    return 0;
}

/* Creates and opens file i's temporary file (DIR/.NAME.partial-PID-XXXXXX), or the
 * stream on standard output. */
static int open_stem_file(stem_writer *w, int i, const char *path, const SF_INFO *info,
                          const audio_spec *spec, mode_t mask, char *err, size_t err_size)
{
    static SF_VIRTUAL_IO vio = {vio_get_filelen, vio_seek, vio_read, vio_write, vio_tell};
    stem_file *f = &w->file[i];
    w->n = i + 1;
    char dir[PATH_CAP];
    const char *name;
    int a = snprintf(f->final_path, PATH_CAP, "%s", strcmp(path, "-") ? path : "standard output");
    if (a < 0 || a >= PATH_CAP || split_path(path, dir, &name) != 0) {
        format_message(err, err_size, "output path is too long: '%s'", path);
        return -1;
    }
    if (strcmp(path, "-") == 0)
        return open_stream(f, info, spec, err, err_size);
    remove_stale_partials(dir, name);
    int b = snprintf(f->temp_path, PATH_CAP, "%s/.%s.partial-%ld-XXXXXX", dir, name,
                     (long)getpid());
    if (b < 0 || b >= PATH_CAP) {
        format_message(err, err_size, "output path is too long: '%s'", path);
        return -1;
    }
    f->fd = make_temp_file(f->temp_path, &f->slot);
    if (f->fd < 0) {
        format_message(err, err_size, "cannot create a file in output directory '%s': %s", dir,
                       strerror(errno));
        return -1;
    }
    fchmod(f->fd, 0666 & ~mask); /* best effort: some file systems have no modes */
    SF_INFO fi = *info;
    f->sf = sf_open_virtual(&vio, SFM_WRITE, &fi, f);
    if (!f->sf) {
        format_message(err, err_size, "cannot write '%s': %s", f->final_path,
                       f->write_errno ? strerror(f->write_errno) : sf_strerror(NULL));
        return -1;
    }
    set_writer_options(f->sf, info);
    /* the input's speaker positions, in the WAVE_FORMAT_EXTENSIBLE mask (FLAC and Ogg
     * keep the channels' order, and their formats fix what each position is) */
    int container = info->format & SF_FORMAT_TYPEMASK;
    if (spec->channel_map && (container == SF_FORMAT_WAVEX || container == SF_FORMAT_RF64))
        sf_command(f->sf, SFC_SET_CHANNEL_MAP_INFO, (void *)spec->channel_map,
                   (int)(sizeof(int) * (size_t)spec->channels));
    return 0;
}

/* "-": standard output. */
static int is_stream_path(const char *path)
{
    return strcmp(path, "-") == 0;
}

stem_writer *stem_writer_open(const char *const *paths, int n, const audio_spec *spec,
                              char *err, size_t err_size)
{
    const int channels = spec->channels, sample_rate = spec->sample_rate;
    const audio_format format = spec->format;
    if (n < 1 || n > STEM_WRITER_MAX_STEMS || channels < 1 || sample_rate < 1) {
        format_message(err, err_size, "cannot write %d files of %d channels at %d Hz", n,
                       channels, sample_rate);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (is_stream_path(paths[i]) && (n != 1 || format != AUDIO_WAV)) {
            format_message(err, err_size, "standard output takes one WAV stream");
            return NULL;
        }
    if (format == AUDIO_OGG && sample_rate > VORBIS_MAX_RATE) {
        format_message(err, err_size, "Vorbis (--format ogg) encodes rates up to %d Hz (libvorbis's "
                       "limit); the input is at %d Hz: use --format wav or flac", VORBIS_MAX_RATE,
                       sample_rate);
        return NULL;
    }
    if (format == AUDIO_FLAC && sample_rate > FLAC_MAX_RATE) {
        format_message(err, err_size, "FLAC holds rates up to %d Hz (libsndfile's FLAC writer); "
                       "the input is at %d Hz: use --format wav", FLAC_MAX_RATE, sample_rate);
        return NULL;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = sample_rate;
    info.channels = channels;
    info.format = sndfile_format(format, spec->subtype, channels, spec->frames);
    if (spec->channel_map && (info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_WAV)
        info.format = SF_FORMAT_WAVEX | (info.format & SF_FORMAT_SUBMASK);
    if (!sf_format_check(&info)) {
        format_message(err, err_size, "%s files cannot hold %d channels at %d Hz with this subtype",
                       audio_format_extension(format), channels, sample_rate);
        return NULL;
    }
    stem_writer *w = calloc(1, sizeof *w);
    if (!w) {
        format_message(err, err_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < STEM_WRITER_MAX_STEMS; i++) {
        w->file[i].fd = -1;
        w->file[i].slot = -1;
    }
    w->channels = channels;
    w->interleaved = malloc((size_t)WRITE_CHUNK_FRAMES * (size_t)channels * sizeof(float));
    if (!w->interleaved) {
        format_message(err, err_size, "out of memory");
        goto fail;
    }
    /* mkstemp creates 0600 files; the stems should get what any new file gets. */
    mode_t mask = umask(0);
    umask(mask);
    for (int i = 0; i < n; i++)
        if (open_stem_file(w, i, paths[i], &info, spec, mask, err, err_size) != 0)
            goto fail;
    return w;
fail:
    stem_writer_abort(w);
    return NULL;
}

int stem_writer_write(stem_writer *writer, int stem, const float *const *channel,
                      size_t frames, char *err, size_t err_size)
{
    if (!writer || stem < 0 || stem >= writer->n || !writer->file[stem].sf) {
        format_message(err, err_size, "internal error: no stem %d to write", stem);
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
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, strerror(f->write_errno));
            return -1;
        }
        if (put != (sf_count_t)n) {
            format_message(err, err_size, "cannot write '%s': %s", f->final_path, sf_strerror(f->sf));
            return -1;
        }
        done += n;
    }
    return 0;
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
        format_message(err, err_size, "internal error: no writer");
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
        if (!writer->file[i].stream && lstat(writer->file[i].final_path, &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            format_message(err, err_size, "cannot replace '%s': it is a directory",
                           writer->file[i].final_path);
            goto fail;
        }
    }
    g_committing = 1;
    int renamed = 0;
    for (int i = 0; i < writer->n; i++) {
        stem_file *f = &writer->file[i];
        if (f->stream)
            continue;
        if (rename(f->temp_path, f->final_path) != 0) {
            int e = errno;
            if (renamed > 0)
                format_message(err, err_size,
                               "cannot rename '%s' to '%s': %s (%d earlier stems were already replaced)",
                               f->temp_path, f->final_path, strerror(e), renamed);
            else
                format_message(err, err_size, "cannot rename '%s' to '%s': %s", f->temp_path,
                               f->final_path, strerror(e));
            break;
        }
        release_slot(f->slot);
        f->slot = -1;
        renamed++;
    }
    g_committing = 0;
    if (renamed != writer->n - (writer->file[0].stream ? 1 : 0))
        goto fail;
    if (!writer->file[0].stream)
        sync_directory(writer->file[0].final_path);
    stem_writer_abort(writer); /* nothing left to remove; frees */
    return 0;
fail:
    stem_writer_abort(writer);
    return -1;
}
