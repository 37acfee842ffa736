"""Risk scoring: the rules, the score of each submitted version and the lane it picks.

A room of its own above the filing app: it reads submitted declarations and moves them on with
the filing services; what goes to an officer or out of customs it hands to officer review
(``clearance.review``) through the ``declarations_scored`` signal. See docs/architecture.md.
"""
