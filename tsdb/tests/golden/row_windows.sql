# SESSION and STATE_WINDOW (spec A6, A8), on a table and a super table.
create database w;
use w;
create table t (ts timestamp, v int, s binary(8), on_ bool, f float);
# v: 1 1 NULL 1 | 2 2 NULL | 3 | 1; gaps in seconds: 1 2 1 6 2 1 7 1
insert into t values ('2018-10-03 14:38:00.000', 1, 'a', true, 0.5) ('2018-10-03 14:38:01.000', 1, 'a', true, 1.5) ('2018-10-03 14:38:03.000', NULL, 'b', true, 2.5) ('2018-10-03 14:38:04.000', 1, 'b', false, 3.5);
insert into t values ('2018-10-03 14:38:10.000', 2, 'b', false, 4.5) ('2018-10-03 14:38:12.000', 2, NULL, false, 5.5) ('2018-10-03 14:38:13.000', NULL, 'a', true, 6.5) ('2018-10-03 14:38:20.000', 3, 'a', true, 7.5) ('2018-10-03 14:38:21.000', 1, 'a', NULL, 8.5);
select count(*), count(v), first(ts), last(ts), sum(f) from t state_window(v);
select _wstart, _wend, _wduration, count(*), max(v) from t session(ts, 5s);
# rows exactly the gap apart stay in one session
select _wstart, count(*) from t session(ts, 6s);
select _wstart, count(*), first(s), last(s) from t state_window(s);
select _wstart, _wend, count(*) from t state_window(on_);
select _wstart, count(*) from t where f > 1 state_window(v) order by _wstart desc limit 2;
# a super table: one merged timeline, or one per table
create table st (ts timestamp, v int) tags (g int);
insert into c1 using st tags (1) values ('2018-10-03 14:39:00.000', 5) ('2018-10-03 14:39:02.000', 5) ('2018-10-03 14:39:30.000', 6);
insert into c2 using st tags (2) values ('2018-10-03 14:39:01.000', 5) ('2018-10-03 14:39:20.000', 6) ('2018-10-03 14:39:21.000', 5);
select _wstart, _wend, count(*) from st session(ts, 3s);
select _wstart, tbname, count(*) from st partition by tbname session(ts, 3s);
select _wstart, count(*), sum(v) from st state_window(v);
select count(*) from st state_window(v) group by tbname;
# errors
select * from t session(ts, 5s);
select count(*) from t state_window(f);
# arithmetic gives a DOUBLE
select _wstart, avg(f) from t state_window(v % 2);
select count(*) from t state_window(count(v));
select count(*) from t session(v, 5s);
select count(*) from t session(ts, 1n);
select count(*) from t session(ts, 0s);
select count(*) from t interval(10s) session(ts, 5s);
select count(*) from t state_window(v) interval(10s);
select diff(v) from t session(ts, 5s);
select last_row(v) from t state_window(v);
select count(*) from t session(ts, 5s) fill(prev);
select count(*) from t session(ts);
