\set k random(1, 64)
\set n random(1, 1000000)
\set r random(1, 999999999999)
\set now 1796500000000
\set win 600000
\set tries 10
\set kp :k % 8 + 1
