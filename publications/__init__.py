"""The public portal: procedures, regulations, drafts, consultations, comments, subscriptions."""
