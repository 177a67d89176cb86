-- analytics-sql §10 against our real anode (native algorithms, no Python
-- workers): the system test's queries with the values our anode computes.
create anode 'http://${ANODE}';
show anodes full;

create database d0 vgroups 1;
use d0;
create table stb (ts timestamp, c1 int, c2 float, c3 double, c4 tinyint, c5 bigint, c6 varchar(12)) tags (t1 int);
create table ct1 using stb tags(1000);
-- the first 8 rows: too few to analyse
insert into ct1 values (1700000000000, 5, 5, 5, 5, 5, 'a') (1700000000001, 14, 14, 14, 14, 14, 'a') (1700000000002, 15, 15, 15, 15, 15, 'a') (1700000000003, 15, 15, 15, 15, 15, 'a') (1700000000004, 14, 14, 14, 14, 14, 'a') (1700000000005, 19, 19, 19, 19, 19, 'a') (1700000000006, 17, 17, 17, 17, 17, 'a') (1700000000007, 16, 16, 16, 16, 16, 'a');
select _frowts, forecast(c6, 'algo=holtwinters') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters') from ct1;
select count(*) from ct1 anomaly_window(c1, 'algo=iqr');
-- all 17 rows
insert into ct1 values (1700000000008, 20, 20, 20, 20, 20, 'a') (1700000000009, 22, 22, 22, 22, 22, 'a') (1700000000010, 8, 8, 8, 8, 8, 'a') (1700000000011, 21, 21, 21, 21, 21, 'a') (1700000000012, 28, 28, 28, 28, 28, 'a') (1700000000013, 11, 11, 11, 11, 11, 'a') (1700000000014, 9, 9, 9, 9, 9, 'a') (1700000000015, 29, 29, 29, 29, 29, 'a') (1700000000016, 40, 40, 40, 40, 40, 'a');
select count(*) from ct1;
-- IQR flags the last point alone (the system test: 1 row, count 1)
select count(*) from ct1 anomaly_window(c1, 'algo=iqr');
select _wstart, _wend, _anomalymark, count(*), max(c1) from ct1 anomaly_window(c1, 'algo=iqr');
select count(*) from ct1 anomaly_window(c1, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c2, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c3, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c4, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c5, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c1, 'algo=lof');
-- shesd needs its period (upstream 3.3.7 hid this error as "no windows")
select count(*) from ct1 anomaly_window(c1, 'algo=shesd');
select count(*) from ct1 anomaly_window(c1, 'algo=shesd,period=3');
select count(*) from ct1 anomaly_window(c1, 'algo=grubbs');
-- data[0][3] is 28.784811943 with the Python anode (statsmodels)
select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=2') from ct1;
select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=100,rows=5') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,timeout=6000,rows=2') from ct1;
select _fmodel, forecast(c1, 'algo=arima,rows=2') from ct1;
select _fmodel, forecast(c1, 'algo=holtwinters,rows=1') from ct1;

-- §4.8 / §5.4: the protocol spec's DTW example (distance 1.6, 7 steps)
create table cr (ts timestamp, x double, y double);
insert into cr values (1700000000000, 1.0, 1.0) (1700000000001, 1.1, 1.5) (1700000000002, 1.0, 1.3) (1700000000003, 1.2, 1.8) (1700000000004, 1.1, 1.6);
select dtw(x, y, 'radius=2') from cr;
select dtw_path(x, y) from cr;
select tlcc(x, y, 'lag_start=-2,lag_end=2') from cr;

-- linear imputation of a 1 s series missing t3 and t7
create table gaps (ts timestamp, v int);
insert into gaps values (1700000000000, 0) (1700000001000, 2) (1700000002000, 4) (1700000004000, 8) (1700000005000, 10) (1700000006000, 12) (1700000008000, 16) (1700000009000, 18) (1700000010000, 20) (1700000011000, 22) (1700000012000, 24) (1700000013000, 26);
select _improwts, imputation(v, 'wncheck=0'), _impmark from gaps;
