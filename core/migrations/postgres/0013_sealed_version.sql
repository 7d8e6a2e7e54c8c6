-- R16: the seal version every personal field of this database is in, once a start has sealed
-- them all; later starts compare it and skip the scan of every sealed column (a full read of
-- the holder and certificate tables at national size). NULL: never settled by this version.
ALTER TABLE data_key ADD COLUMN sealed_version TEXT;
