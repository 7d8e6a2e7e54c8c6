-- R16: the data key that seals ID numbers and mobiles, named by its public id (never the key
-- itself). One row: the first server to start records its key; a server holding another key
-- refuses to start instead of writing data no other server could read.
CREATE TABLE data_key (
    slot       INTEGER PRIMARY KEY CHECK (slot = 1),
    id         TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
