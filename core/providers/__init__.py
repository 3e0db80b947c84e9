"""Adapters to the outside world, each behind a small Protocol the engine depends on.

Cloud Run and Monitoring use the official Google clients; Vercel and notifications use httpx.
"""
