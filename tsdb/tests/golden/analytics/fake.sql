-- analytics-sql §10 conformance cases against a fake anode with fixed
-- answers (tests/common/anodes.rs): forecast values 10, 11, ... with
-- bounds +-1; anomaly windows [t3, t3] (code -1) and [t7, t9] (code -2);
-- imputation fills the 1 s grid with -1; dtw/tlcc answer the protocol
-- spec's examples.

-- §10.1 DDL
create anode '127.0.0.1:1';
show anodes;
drop anode 1;
create anode '${FAKE}';
show anodes full;
select * from information_schema.ins_anodes_full;

-- §10.2 data and queries
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
select _wstart, _wend, _wduration, _anomalymark, count(*), sum(c1) from ct1 anomaly_window(c1, 'algo=iqr');
select count(*) from ct1 anomaly_window(c6, 'algo=iqr');
select count(*) from ct1 anomaly_window(t1, 'algo=iqr');
select count(*) from ct1 anomaly_window(c1, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c2, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c3, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c4, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c5, 'algo=ksigma,k=2');
select count(*) from ct1 anomaly_window(c1, 'algo=iqr, = 2');
select count(*) from ct1 anomaly_window(c1, 'algo=lof');
select _frowts, forecast(c1, 'algo=holtwinters,rows=1025') from ct1;
select _frowts, forecast(c6, 'algo=holtwinters,conf=0.5,wncheck=1,period=0') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,timeout=6000,rows=2') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,timeout=0,rows=2') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,timeout=120,rows=2') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=0') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=-10') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,every=0') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=abc') from ct1;
select _frowts, forecast(c1, ' algo = holtwinters , conf = 0.5 , rows = 2 ') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=2,') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=2,,') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,rows=2, a    =') from ct1;
select _frowts, forecast(c1, 'algo=holtwinters,     =   a ,') from ct1;
select forecast(c1, 'algo=arima,rows=1') from ct1;
select forecast(c2, 'algo=arima,rows=1') from ct1;
select forecast(c3, 'algo=arima,rows=1') from ct1;
select forecast(c4, 'algo=arima,rows=1') from ct1;
select forecast(c5, 'algo=arima,rows=1') from ct1;
select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=2') from ct1;
select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=100,rows=5') from ct1;
-- restrictions (§5.2)
select forecast(c1), count(*) from ct1;
select forecast(c1), forecast(c2) from ct1;
select forecast(count(c1)) from ct1;
select forecast(c1) from ct1 interval(1s);
select _frowts, c1 from ct1;
select forecast(c1) from ct1 where _frowts > 0;
select tbname, _frowts, forecast(c1, 'rows=2') from stb partition by tbname;

-- §10.3 covariates (moirai takes them; the others do not)
create table pk (ts timestamp, c1 int, c2 float, c3 int);
insert into pk values (1700000000000, 0, 5.5, 10) (1700000000001, 1, 14.5, 28) (1700000000002, 2, 15.5, 30) (1700000000003, 3, 15.5, 30) (1700000000004, 4, 14.5, 28) (1700000000005, 5, 19.5, 38) (1700000000006, 6, 17.5, 34) (1700000000007, 7, 16.5, 32) (1700000000008, 8, 20.5, 40) (1700000000009, 9, 22.5, 44) (1700000000010, 10, 8.5, 16) (1700000000011, 11, 21.5, 42) (1700000000012, 12, 28.5, 56) (1700000000013, 13, 11.5, 22) (1700000000014, 14, 9.5, 18) (1700000000015, 15, 29.5, 58) (1700000000016, 16, 40.5, 80);
select forecast(c2) from pk;
select forecast(c2, 'algo=arima,rows=1') from pk;
select forecast(c2, c3) from pk;
select forecast(c2, c3, 'algo=arima') from pk;
select forecast(c2, c3, c1, 'algo=moirai,rows=1') from pk;
select forecast(c2, c2, c3, 'algo=moirai,rows=1') from pk;
select forecast(c2, c2, c2, c2, 'algo=moirai,rows=1') from pk;
select forecast(c2, c2, c2, c2, 'algo=holtwinters,rows=1') from pk;
select forecast(c2, c3, c1, c4, 'algo=moirai') from pk;
select forecast(c2, c3, c1, 'algo=holtwinters') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_1=[1 1 1 1],rows=22,dynamic_real_1_col=c3') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_100=[1 1 1],rows=3,dynamic_real_100_col=c4') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_100=[1 1 1],rows=3,dynamic_real_100_col=c2') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_100=[1 1 1],rows=3,dynamic_real_10_col=c3') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_100=(1 1 1),rows=3,dynamic_real_100_col=c3') from pk;
select forecast(c2, c3, 'algo=moirai,dynamic_real_100=[1, 1, 1],rows=3,dynamic_real_100_col=c3') from pk;
select forecast(c2, c3, "algo=moirai,dynamic_real_100=['abc'],rows=1,dynamic_real_100_col=c3") from pk;
select _frowts, forecast(c2, c3, 'algo=moirai,dynamic_real_100=[1 1 1],rows=3,dynamic_real_100_col=c3') from pk;

-- §7 imputation and correlation
create table gaps (ts timestamp, v int, w double);
insert into gaps values (1700000000000, 0, 0) (1700000001000, 1, 1) (1700000002000, 2, 4) (1700000004000, 4, 16) (1700000005000, 5, 25) (1700000006000, 6, 36) (1700000008000, 8, 64) (1700000009000, 9, 81) (1700000010000, 10, 100) (1700000011000, 11, 121) (1700000012000, 12, 144) (1700000013000, 13, 169);
select _improwts, imputation(v, 'algo=linear'), _impmark from gaps;
select _improwts, imputation(v, 'algo=linear,freq=1x') from gaps;
select dtw(v, w) from gaps;
select dtw_path(v, w, 'radius=2') from gaps;
select dtw(v, w, 'radius=11') from gaps;
select tlcc(v, w) from gaps;
select corr(v, w) from gaps;

-- §10.1 after the anode is dropped
drop anode 1;
show anodes;
select forecast(c1) from ct1;
select count(*) from ct1 anomaly_window(c1);
