-- The example session `make run` prints: the registered anode's
-- algorithms, a forecast and anomaly windows, all from SQL.
show anodes;
show anodes full;
-- no algo: `auto` ([analytics] default-forecast-algo) detects the season
-- and combines AutoARIMA, AutoETS and Theta
select _frowts, _flow, _fhigh, forecast(val, 'rows=6') from demo.passengers;
select _frowts, _flow, _fhigh, forecast(val, 'algo=holtwinters,rows=6,period=12,trend=add,seasonal=add,wncheck=0') from demo.passengers;
select _wstart, _wend, count(*), max(val) from demo.ad_sample anomaly_window(val, 'algo=iqr');
select _wstart, _wend, count(*), max(val) from demo.ad_sample anomaly_window(val, 'algo=ksigma,k=2');
