"""Incidents: one case per leak (forum, thread) that an analyst triages, built from alerts.

Pure logic: ``model`` (record, id, history event), ``evidence`` (what a post contributes),
``lifecycle`` (aggregation, escalation, reopen, false-positive), ``title``, ``notice`` (when and
what to notify). ``sqlite`` keeps incidents in the embedded store, in the transaction of each
post. Nothing here imports Scrapy.
"""
