/* Host work spread over the processors: see internal.h. */
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

#define MAX_THREADS 64

int mrxcl_processors(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

void mrxcl_run_parallel(void *(*worker)(void *), void *arg, int max)
{
    int n = mrxcl_processors();
    if (max >= 1 && n > max)
        n = max;
    pthread_t threads[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < n; t++, started++)
        if (pthread_create(&threads[t - 1], NULL, worker, arg) != 0)
            break; /* fewer threads: the ones there take all the work */
    worker(arg);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
}
