-- Disposition of served callbacks (docs/ENGINE.md, "Disposition"). NULL: no dialog was asked for;
-- 0: the dialog was shown and its outcome is awaited; else the outcome recorded
-- (src/domain/disposition.ts, DISPOSITION_STORED). The column is the fence of every recording:
-- an outcome is written only over 0, once. On the callback row, so it is dropped, erased and
-- moved with it; a NULL costs a bit of the row's null bitmap.
ALTER TABLE callback ADD COLUMN disposition smallint;

-- Dialogs awaiting their outcome, by when they were shown: the TIMEOUT sweep reads only these.
CREATE INDEX callback_disposition_awaited ON callback (updated_at) WHERE disposition = 0;
