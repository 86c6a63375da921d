-- One delivery per webhook per activity: whatever moves the dispatcher's
-- cursor back (a restored backup, a second dispatcher on an old copy)
-- cannot send an event twice. A resend updates the delivery it resends,
-- so it is not held back. Doubles made before this keep their oldest.
DELETE FROM webhook_deliveries WHERE id NOT IN
    (SELECT min(id) FROM webhook_deliveries GROUP BY webhook_id, activity_id);
CREATE UNIQUE INDEX webhook_deliveries_activity ON webhook_deliveries(webhook_id, activity_id);
