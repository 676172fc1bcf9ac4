/*
 * es-shipper.c: the watch daemon's shipping thread (es.h states the
 * contract). It runs es_ship(), with its exactly-once rules, whenever a
 * snapshot was committed and every IDLE_MS otherwise, and turns a run
 * that fails into an outage: one warning, a backoff, and a line when
 * Elasticsearch takes events again.
 *
 * Locks: `lock` guards `woken`; `stopping` is atomic (es_ship polls it),
 * and set before the thread is signalled. Everything else belongs to the
 * thread once it runs (the store connection and the client included:
 * neither is touched by the starting thread again).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/es.h"

#define IDLE_MS 10000           /* look at the outbox at least this often */
/*
 * Settling a batch waits this long for the write lock: the daemon's own
 * reconcile or periodic rescan holds it for the whole scan, and failing
 * means a resend and an error from the store. stop() cuts the wait short
 * (store_set_stop): a SIGTERM does not wait for another process's lock,
 * and what was acknowledged but not settled is resent (answered 409).
 */
#define BUSY_MS (10 * 60 * 1000)

struct es_shipper {
	struct es_client *c;
	struct store *st;            /* the shipper's own connection */
	struct es_ship_options so;
	pthread_t thr;
	pthread_mutex_t lock;
	pthread_cond_t cv;           /* CLOCK_MONOTONIC */
	int woken;                   /* under lock */
	/* the thread's: */
	int64_t outage_ns;           /* wall clock of its first trouble, 0 */
	int warned;                  /* that outage was announced */
	unsigned attempt;            /* failed runs in a row */
	int64_t delivered, dead;     /* in all, for the last note */
};

/* es_ship()'s stop() has no argument: one shipper per process. */
static atomic_int stopping;

static int stop_requested(void)
{
	return atomic_load(&stopping);
}

/*
 * Trouble, `final` when it ended a run: once it is an outage, say so,
 * once. A blip (a 429 burst, a dropped connection) that es_ship's own
 * retries get past within es-backoff-max is not one: those are notes
 * (-v), like every retry after the warning.
 */
static void outage(struct es_shipper *sh, int final, const char *why)
{
	int64_t t = now_ns();

	if (!sh->outage_ns)
		sh->outage_ns = t;
	if (sh->warned || (!final && t - sh->outage_ns <
				   (int64_t)sh->so.backoff_max_ms * 1000000))
		return;
	sh->warned = 1;
	if (why)
		warning("%s; events wait in the outbox and are sent once "
			"Elasticsearch takes them again (retried with backoff, "
			"no more warnings until then)", why);
	else
		warning("shipping to %s stopped (see above); events wait in "
			"the outbox and it is retried with backoff",
			es_client_url(sh->c));
}

/* es_ship's trouble(): a retry (final 0), or the end of its run. */
static void on_trouble(const char *why, int final, void *data)
{
	outage(data, final, why);
}

/* One es_ship() run; the delay before the next, in ms. */
static long run_once(struct es_shipper *sh)
{
	struct es_ship_stats stats;
	long ms;
	int ret;

	ret = es_ship(sh->c, sh->st, &sh->so, &stats);
	sh->delivered += stats.created + stats.existed;
	sh->dead += stats.dead;
	if (stats.created + stats.existed + stats.dead)
		note("shipped %lld events to %s (%lld already stored), %lld "
		     "dead letters", (long long)(stats.created + stats.existed),
		     es_client_url(sh->c), (long long)stats.existed,
		     (long long)stats.dead);
	if (ret == EXIT_INTERRUPTED)
		return 0;
	if (!ret) {
		if (sh->warned)
			inform("Elasticsearch at %s takes events again, after "
			       "%lld s", es_client_url(sh->c),
			       (long long)((now_ns() - sh->outage_ns) /
					   1000000000));
		sh->outage_ns = 0;
		sh->warned = 0;
		sh->attempt = 0;
		return IDLE_MS;
	}
	/* es_ship gave up (trouble() said why), or the store failed */
	outage(sh, 1, NULL);
	ms = es_backoff_ms(sh->attempt++, sh->so.backoff_ms,
			   sh->so.backoff_max_ms, -1, es_jitter());
	note("shipping to %s again in %.1f s", es_client_url(sh->c),
	     ms / 1000.0);
	return ms;
}

/*
 * Wait until woken, stopped or `due` (monotonic). During an outage only
 * the backoff ends the wait: commits do not hurry a server that is down.
 * Returns 0 to run, 1 to stop. Under lock.
 */
static int wait_turn(struct es_shipper *sh, int64_t due)
{
	struct timespec ts = { due / 1000000000, due % 1000000000 };

	while (!stop_requested() && (sh->outage_ns || !sh->woken) &&
	       mono_ns() < due)
		pthread_cond_timedwait(&sh->cv, &sh->lock, &ts);
	sh->woken = 0;
	return stop_requested();
}

static void *shipper_main(void *arg)
{
	struct es_shipper *sh = arg;
	int64_t due = 0;             /* the first run starts at once */

	for (;;) {
		long ms;
		int stop;

		pthread_mutex_lock(&sh->lock);
		stop = wait_turn(sh, due);
		pthread_mutex_unlock(&sh->lock);
		if (stop)
			break;
		ms = run_once(sh);
		due = mono_ns() + (int64_t)ms * 1000000;
	}
	note("shipper stopped: %lld events delivered, %lld dead letters",
	     (long long)sh->delivered, (long long)sh->dead);
	return NULL;
}

static void shipper_free(struct es_shipper *sh)
{
	es_client_free(sh->c);
	store_close(sh->st);
	pthread_cond_destroy(&sh->cv);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

int es_shipper_start(struct es_shipper **out, const char *db,
		     const struct es_options *eo,
		     const struct es_ship_options *so)
{
	struct es_shipper *sh = xcalloc(1, sizeof(*sh));
	pthread_condattr_t ca;
	sigset_t all, old;
	int ret, err;

	*out = NULL;
	pthread_mutex_init(&sh->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->cv, &ca);
	pthread_condattr_destroy(&ca);
	sh->so = *so;
	sh->so.stop = stop_requested;
	sh->so.busy_ms = BUSY_MS;
	sh->so.trouble = on_trouble;
	sh->so.data = sh;
	es_ship_defaults(&sh->so);
	/*
	 * The store exists (the daemon has it open), so there is nothing to
	 * create; SQLite opens every store connection read-write, so
	 * settling works through this one.
	 */
	if ((ret = es_client_new(&sh->c, eo)) ||
	    (ret = store_open(&sh->st, db, STORE_READ))) {
		shipper_free(sh);
		return ret;
	}
	store_set_stop(sh->st, stop_requested);
	atomic_store(&stopping, 0);
	/* signals are for the daemon's signal thread, never this one */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&sh->thr, NULL, shipper_main, sh);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		error("cannot start a thread: %s", strerror(err));
		shipper_free(sh);
		return EXIT_INTERNAL;
	}
	*out = sh;
	return 0;
}

void es_shipper_wake(struct es_shipper *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&sh->lock);
	sh->woken = 1;
	pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->lock);
}

void es_shipper_stop(struct es_shipper *sh)
{
	if (!sh)
		return;
	atomic_store(&stopping, 1);
	pthread_mutex_lock(&sh->lock);
	pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->lock);
	pthread_join(sh->thr, NULL);
	shipper_free(sh);
}
