-- Re-run by every migrate (idempotent): the writers record conflicts and gaps; readers see them.
GRANT SELECT, INSERT ON sample_conflicts, data_loss_gaps TO ecg_writer;
GRANT SELECT ON sample_conflicts, data_loss_gaps TO ecg_reader;
