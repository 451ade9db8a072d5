"""``deskmate replay``: stored conversations played again through a (changed) configuration.

``stored`` turns each session's kept messages and audit into the decision taken then and an eval
case up to the message it was about; the eval player plays the cases (nothing reaches
Intercom); ``diff`` reports what changed; ``saved`` keeps the last report for the dashboard.
"""
