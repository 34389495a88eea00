-- sqlite-churn.sql: a malloc-heavy sqlite3 session for scripts/bench-record
-- (run as `sqlite3 :memory: ".read sqlite-churn.sql"`): rows of random
-- sizes inserted, indexed, updated, deleted and aggregated in memory.
CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
INSERT INTO t SELECT i, hex(randomblob(8 + i % 24)), randomblob(16 + (i * 7919) % 400) FROM n;
CREATE INDEX tk ON t (k);
UPDATE t SET v = randomblob(32 + id % 300) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(v)) FROM t;
SELECT k, count(*) FROM t GROUP BY substr(k, 1, 2) ORDER BY 2 DESC LIMIT 3;
