"""deskmate's default brain: knowledge search, replies, language, sentiment, escalation, summary.

``hooks`` registers it as a ``trylast`` plugin; see docs/brain.md.
"""
