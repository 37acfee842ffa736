"""Payments of duties and taxes, receipts, deferred accounts and refunds."""
