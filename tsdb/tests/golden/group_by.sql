# GROUP BY / PARTITION BY: tag and tbname keys (one per table), column keys (one per row), groups across tables.
create database g;
use g;
create table st (ts timestamp, v int) tags (loc binary(8), n int);
insert into c1 using st tags ('a', 1) values ('2018-10-03 14:39:00.000', 5) ('2018-10-03 14:39:02.000', 5) ('2018-10-03 14:39:30.000', 6);
insert into c2 using st tags ('b', 1) values ('2018-10-03 14:39:01.000', 5) ('2018-10-03 14:39:20.000', 6) ('2018-10-03 14:39:21.000', NULL);
insert into c3 using st tags (NULL, 2) values ('2018-10-03 14:39:03.000', 7);
select count(*), first(ts), last(ts), last(v) from st group by v;
select count(*), first(v), last(v) from st group by n;
select count(*), last(ts) from st group by loc;
select count(*) from st group by n, loc;
select tbname, count(*), max(v) from st group by tbname order by tbname desc;
select count(*) from st group by tbname slimit 2 soffset 1;
select ts, v, tbname from st partition by n limit 2;
# ORDER BY a group key orders the groups, before SLIMIT
select count(*) from st group by tbname order by tbname desc slimit 1;
select last_row(v), tbname from st group by tbname order by tbname desc;
select count(*), loc from st group by loc order by loc desc;
select count(*) from st group by n, loc order by n desc, loc;
