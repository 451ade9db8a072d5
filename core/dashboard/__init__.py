"""The dashboard: server-rendered admin pages behind the admin token (overview, conversations,
unanswered questions and content, health), read from the store."""
