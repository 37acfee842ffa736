"""Officer review: the queues, cases and decisions, questions to the filer, and release with its
notice.

The top room of the clearance pipeline: it reads the scores of risk scoring (``clearance.risk``)
and takes over what scoring hands on, opening cases and releasing green declarations through
the one release service (``clearance.review.release``). See docs/architecture.md.
"""
