"""Celery tasks of officer review. Each takes ids and is safe to run twice."""

import time

from celery import shared_task

from clearance.review import notices, release

# How long one rendering task keeps a worker process before it hands the rest of its notices
# back to the queue: a PDF takes about 0.2 s, and scoring waits at most this long for a process.
RENDER_SLICE_SECONDS = 1.0


@shared_task(name="clearance.render_release_notices", time_limit=120, soft_time_limit=100)
def render_release_notices(declaration_ids: list[int]) -> int:
    """Render the PDFs of these release notices (each once). On the documents queue, which
    workers read after the clearance queue; after a slice of time the rest go back to that
    queue, so a batch's thousand PDFs never hold a process while declarations wait to be
    scored. Returns how many it rendered."""
    started = time.monotonic()
    for done, pk in enumerate(declaration_ids, start=1):
        notices.render(pk)
        rest = declaration_ids[done:]
        if rest and time.monotonic() - started > RENDER_SLICE_SECONDS:
            release.queue_render(rest)
            return done
    return len(declaration_ids)


@shared_task(name="clearance.sweep_release_notices", time_limit=120)
def sweep_release_notices() -> int:
    """Render the notices whose message was lost (issued minutes ago, still without a PDF)."""
    missing = notices.missing()
    release.queue_render(missing)
    return len(missing)
