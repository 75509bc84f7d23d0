-- foxden schema, version 2. Applied by foxden.store.sqlite on open: every statement is
-- idempotent, so opening an older database adds what it lacks (version 2 added telemetry_tail).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS usage (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE IF NOT EXISTS plants (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type INTEGER NOT NULL,
    country_code TEXT NOT NULL,
    city TEXT NOT NULL,
    address TEXT NOT NULL,
    postcode TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    price REAL,
    currency TEXT,
    capacity REAL,
    latitude REAL,
    longitude REAL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS plants_account ON plants(account_id, created_ms);

CREATE TABLE IF NOT EXISTS loggers (
    sn TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    signal INTEGER NOT NULL DEFAULT 100,
    status INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS loggers_account ON loggers(account_id);

CREATE TABLE IF NOT EXISTS devices (
    sn TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    logger_sn TEXT NOT NULL REFERENCES loggers(sn),
    plant_id TEXT REFERENCES plants(id) ON DELETE SET NULL,
    status INTEGER NOT NULL DEFAULT 1,
    created_ms INTEGER NOT NULL,
    batteries TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS devices_account ON devices(account_id, created_ms);
CREATE INDEX IF NOT EXISTS devices_plant ON devices(plant_id);

CREATE TABLE IF NOT EXISTS device_settings (
    sn TEXT NOT NULL REFERENCES devices(sn) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (sn, key)
);

-- telemetry: one row per device and UTC day, values packed by foxden.store.codec
CREATE TABLE IF NOT EXISTS telemetry_schemas (
    id INTEGER PRIMARY KEY,
    variables TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS telemetry_chunks (
    sn TEXT NOT NULL,
    day INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES telemetry_schemas(id),
    n INTEGER NOT NULL,
    times BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sn, day)
) WITHOUT ROWID;

-- samples appended to a device-day since its chunk was packed: one row per write, in write
-- order (id), values quantized as in the chunk but neither delta-coded nor compressed
CREATE TABLE IF NOT EXISTS telemetry_tail (
    id INTEGER PRIMARY KEY,
    sn TEXT NOT NULL,
    day INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES telemetry_schemas(id),
    n INTEGER NOT NULL,
    times BLOB NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS telemetry_tail_day ON telemetry_tail(day, sn, id);

CREATE TABLE IF NOT EXISTS telemetry_latest (
    sn TEXT PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES telemetry_schemas(id),
    data BLOB NOT NULL
) WITHOUT ROWID;

-- energy rollups: every counter at the last sample of each 15-minute UTC slot, kept forever
CREATE TABLE IF NOT EXISTS energy_slots (
    sn TEXT NOT NULL,
    slot INTEGER NOT NULL,
    generation REAL,
    feedin REAL,
    gridConsumption REAL,
    loads REAL,
    chargeEnergyToTal REAL,
    dischargeEnergyToTal REAL,
    PVEnergyTotal REAL,
    energyThroughput REAL,
    PRIMARY KEY (sn, slot)
) WITHOUT ROWID;
