// The tencentchat_exporter mixin: alerts, recording rules and the dashboard,
// in the shape of the monitoring-mixins (_config, prometheusAlerts,
// prometheusRules, grafanaDashboards). It needs no library outside this
// directory. Import it and override what you need:
//
//   local tencentchat = (import 'tencentchat_exporter/mixin/mixin.libsonnet') + {
//     _config+:: { capacity_near_ratio: 0.95, language: 'zh' },
//   };
//   { 'tencentchat-alerts.yml': std.manifestYamlDoc(tencentchat.prometheusAlerts) }
//
// `make mixin` writes mixin/alerts.yml, mixin/alerts.zh.yml, mixin/rules.yml,
// the dashboard and the Helm chart's copies from this file; `make test`
// fails while they differ from what it evaluates to.
local defaults = {
  // The daily report's day: Beijing's (UTC+8, no daylight saving). The
  // names of the recorded series say "beijing"; the end-to-end suite
  // shortens the day to seconds to see several midnights.
  daily_report_utc_offset_seconds: 8 * 3600,
  daily_report_day_seconds: 86400,
  // How often the daily report is recorded (its group's interval: each
  // evaluation reads a day of its own series per account, so not every
  // scrape), the resolution at which midnight is looked for, and how long
  // after a midnight Prometheus may first evaluate the rules (after a
  // restart) and still take that midnight's value.
  daily_report_interval: '5m',
  daily_report_step: '5m',
  daily_report_catch_up: '1h',
  // SLO windows are the SRE workbook's for a 30-day objective; the
  // end-to-end suite divides every window by 60 to run in minutes.
  slo_time_divisor: 1,
  runbook_base_url: 'https://github.com/tencentchat-exporter/tencentchat_exporter/blob/main/docs/',
  dashboard_uid: 'tencentchat-official-accounts',
};

// seconds parses a Prometheus duration of one unit ("90s", "1h", "7d").
local seconds(d) =
  local units = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  std.parseInt(std.substr(d, 0, std.length(d) - 1)) * units[d[std.length(d) - 1]];

// duration writes seconds back in the largest unit that divides them.
local duration(s) =
  assert s == std.floor(s) && s > 0 : 'duration %s is not a whole number of seconds' % s;
  if s % 604800 == 0 then '%dw' % (s / 604800)
  else if s % 86400 == 0 then '%dd' % (s / 86400)
  else if s % 3600 == 0 then '%dh' % (s / 3600)
  else if s % 60 == 0 then '%dm' % (s / 60)
  else '%ds' % s;

// num writes a number as short as it reads back (0.2, not
// 0.20000000000000001).
local num(x) =
  local fits = [p for p in std.range(0, 12) if std.parseJson(std.format('%.' + p + 'f', x)) == x];
  if std.length(fits) > 0 then std.format('%.' + fits[0] + 'f', x) else std.toString(x);

local subs = 'tencentchat_official_account_subscribers';

{
  _config+:: defaults + std.parseYaml(importstr 'config.yml'),

  local cfg = self._config,
  local zh = cfg.language == 'zh',
  assert std.member(['en', 'zh'], cfg.language) : "_config.language must be 'en' or 'zh', not %s" % cfg.language,

  // One alerting rule; text.en and text.zh hold summary and description.
  local alert(name, expr, severity, text, hold=null, keep=null, extra={}) = {
    alert: name,
    expr: expr,
    [if hold != null then 'for']: hold,
    [if keep != null then 'keep_firing_for']: keep,
    labels: { severity: severity } + extra,
    annotations: (if zh then text.zh else text.en) + {
      runbook_url: cfg.runbook_base_url + (if zh then 'zh-CN/' else '') + 'runbook.md#' + std.asciiLower(name),
    },
  },

  // The SLO windows, named by their nominal length; slo_time_divisor
  // shortens the ranges they query, never their names.
  local window(name) = duration(seconds(name) / cfg.slo_time_divisor),
  local sloWindows = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'],

  // The two SLOs. bad(w) is the error ratio's expression over window w.
  local slos = [
    {
      name: 'data_freshness',
      metric: 'tencentchat_data_freshness',
      objective: cfg.slo_data_freshness_objective,
      alert: 'TencentChatDataFreshnessBudgetBurn',
      bad(w): '1 - avg_over_time(app:tencentchat_data_fresh:bool[%s])' % w,
      text: {
        en: {
          summary: 'The data of app {{ $labels.app_name }} is stale too often: its error budget burns fast',
          description: 'App {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) is not fresh (tencentchat_up 0, or its background refresh older than %d refresh_interval) so often that, at this rate, the %s%% freshness objective over 30 days is missed; {{ $value | humanizePercentage }} of the time is stale in the long window.' % [cfg.slo_data_freshness_max_age_intervals, num(cfg.slo_data_freshness_objective * 100)],
        },
        zh: {
          summary: '应用 {{ $labels.app_name }} 的数据过旧过于频繁，错误预算消耗过快',
          description: '应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的数据经常不新鲜（tencentchat_up 为 0，或后台刷新已超过 %d 个 refresh_interval），按当前速度将达不到 30 天 %s%% 的新鲜度目标；长窗口内 {{ $value | humanizePercentage }} 的时间数据过旧。' % [cfg.slo_data_freshness_max_age_intervals, num(cfg.slo_data_freshness_objective * 100)],
        },
      },
    },
    {
      name: 'api_availability',
      metric: 'tencentchat_api_availability',
      objective: cfg.slo_api_availability_objective,
      alert: 'TencentChatAPIAvailabilityBudgetBurn',
      // A call fails at request level when no usable answer came
      // (timeout, network, HTTP status, undecodable) or its ErrorCode is
      // not 0 and not an account's (the 130xxx family speaks of one
      // account, not of the API). Counters that are missing count 0.
      bad(w): |||
        (
            (sum by (sdkappid, app_name) (rate(tencentchat_api_request_failures_total[%(w)s])) or sum by (sdkappid, app_name) (0 * rate(tencentchat_api_requests_total[%(w)s])))
          + (sum by (sdkappid, app_name) (rate(tencentchat_api_errors_total{code!~"130[0-9][0-9][0-9]"}[%(w)s])) or sum by (sdkappid, app_name) (0 * rate(tencentchat_api_requests_total[%(w)s])))
        )
        / sum by (sdkappid, app_name) (rate(tencentchat_api_requests_total[%(w)s]))
      ||| % { w: w },
      text: {
        en: {
          summary: 'Tencent Cloud Chat API calls of app {{ $labels.app_name }} fail too often: the error budget burns fast',
          description: '{{ $value | humanizePercentage }} of the API calls for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) failed at request level in the long window; at this rate the %s%% availability objective over 30 days is missed. Account-level codes (130xxx) do not count.' % num(cfg.slo_api_availability_objective * 100),
        },
        zh: {
          summary: '应用 {{ $labels.app_name }} 的腾讯云 IM API 调用失败过多，错误预算消耗过快',
          description: '长窗口内应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）有 {{ $value | humanizePercentage }} 的 API 调用在请求层面失败；按当前速度将达不到 30 天 %s%% 的可用性目标。账号级错误码（130xxx）不计入。' % num(cfg.slo_api_availability_objective * 100),
        },
      },
    },
  ],

  local ratio(slo, w) = 'app:%s:error_ratio_rate%s' % [slo.metric, w],

  // Multi-window, multi-burn-rate alerts (the SRE workbook's, as Sloth and
  // Pyrra generate them): page when 2% of a 30-day budget burns in 1 h or
  // 5% in 6 h, ticket when 10% burns in 1 day or in 3 days. Each long
  // window has a short one (1/12 of it), so a healed fault resolves soon.
  local burnAlerts(slo) = [
    alert(slo.alert, |||
      (
        %(r1h)s > (14.4 * (1 - %(o)s))
        and %(r5m)s > (14.4 * (1 - %(o)s))
      )
      or
      (
        %(r6h)s > (6 * (1 - %(o)s))
        and %(r30m)s > (6 * (1 - %(o)s))
      )
    ||| % { o: num(slo.objective), r1h: ratio(slo, '1h'), r5m: ratio(slo, '5m'), r6h: ratio(slo, '6h'), r30m: ratio(slo, '30m') }, 'page', slo.text, extra={ slo: slo.name }),
    alert(slo.alert, |||
      (
        %(r1d)s > (3 * (1 - %(o)s))
        and %(r2h)s > (3 * (1 - %(o)s))
      )
      or
      (
        %(r3d)s > (1 * (1 - %(o)s))
        and %(r6h)s > (1 * (1 - %(o)s))
      )
    ||| % { o: num(slo.objective), r1d: ratio(slo, '1d'), r2h: ratio(slo, '2h'), r3d: ratio(slo, '3d'), r6h: ratio(slo, '6h') }, 'ticket', slo.text, extra={ slo: slo.name }),
  ],

  local sloRules(slo) = [
    { record: ratio(slo, w), expr: slo.bad(window(w)) }
    for w in sloWindows
  ] + [
    // The 30-day window, as the mean of the 5-minute ratio: reading 30
    // days of raw counters at every evaluation would be too dear.
    { record: ratio(slo, '30d'), expr: 'avg_over_time(%s[%s])' % [ratio(slo, '5m'), window('30d')] },
    { record: 'app:%s:error_budget_remaining' % slo.metric, expr: '1 - %s / (1 - %s)' % [ratio(slo, '30d'), num(slo.objective)] },
    { record: 'app:%s:burn_rate1h' % slo.metric, expr: '%s / (1 - %s)' % [ratio(slo, '1h'), num(slo.objective)] },
    { record: 'app:%s:burn_rate6h' % slo.metric, expr: '%s / (1 - %s)' % [ratio(slo, '6h'), num(slo.objective)] },
  ],

  // The daily report's clock: seconds into the Beijing day, and its number.
  local day = cfg.daily_report_day_seconds,
  local offset = cfg.daily_report_utc_offset_seconds,
  // (floor() takes vectors only: the scalar's whole days by its remainder.)
  local dayNumber = '(time() + %(o)d - (time() + %(o)d) %% %(d)d) / %(d)d' % { o: offset, d: day },
  local midnight = 'account:%s:beijing_midnight' % subs,
  local midnightDay = 'account:%s:beijing_midnight_day' % subs,
  // One account per (sdkappid, account): an HA pair of exporters gives
  // each account twice, once per target.
  local perAccount(expr, extra='') = 'max by (app_name, sdkappid, account%s) (%s)' % [extra, expr],

  prometheusRules+:: {
    groups+: [
      {
        name: 'tencentchat-daily-report',
        interval: cfg.daily_report_interval,
        rules: [
          // The account's subscribers at the last Beijing midnight. Taken
          // from the raw series within catch_up after midnight (the last
          // value scraped before it, within 15 minutes), then carried
          // from its own last value for the rest of the day, for as long
          // as that value is today's (its _day twin says so). So a
          // restart of Prometheus or of the exporter during the day
          // loses nothing, and an account that did not exist at
          // midnight has no value until the next one: no change is
          // invented for it.
          {
            record: midnight,
            expr: |||
              last_over_time((last_over_time(%(subs)s[15m]) and on () (vector(time() + %(offset)d) %% %(day)d < %(step)d))[%(catch)s:%(stepd)s])
              or
              (
                last_over_time(%(midnight)s[%(dayd)s])
                and last_over_time(%(midnightDay)s[%(dayd)s]) == %(dayNumber)s
              )
            ||| % {
              subs: subs,
              offset: offset,
              day: day,
              step: seconds(cfg.daily_report_step),
              stepd: cfg.daily_report_step,
              catch: cfg.daily_report_catch_up,
              midnight: midnight,
              midnightDay: midnightDay,
              dayd: duration(day),
              dayNumber: dayNumber,
            },
          },
          // The Beijing day the midnight value above belongs to (days
          // since 1970-01-01 in Beijing).
          { record: midnightDay, expr: '0 * %s + %s' % [midnight, dayNumber] },
          {
            record: 'account:%s:net_change_beijing_today' % subs,
            expr: '%s - %s' % [subs, midnight],
          },
          // The previous day: this midnight's value minus the one before,
          // when that one is the previous day's.
          {
            record: 'account:%s:net_change_beijing_yesterday' % subs,
            expr: |||
              (%(midnight)s - %(midnight)s offset %(dayd)s)
              and %(midnightDay)s offset %(dayd)s == %(dayNumber)s - 1
            ||| % { midnight: midnight, midnightDay: midnightDay, dayd: duration(day), dayNumber: dayNumber },
          },
          { record: 'app:%s:sum' % subs, expr: 'sum by (app_name, sdkappid) (%s)' % perAccount(subs) },
          {
            record: 'app:%s:net_change_beijing_today' % subs,
            expr: 'sum by (app_name, sdkappid) (%s)' % perAccount('account:%s:net_change_beijing_today' % subs),
          },
          {
            record: 'app:%s:net_change_beijing_yesterday' % subs,
            expr: 'sum by (app_name, sdkappid) (%s)' % perAccount('account:%s:net_change_beijing_yesterday' % subs),
          },
          { record: 'owner:%s:sum' % subs, expr: 'sum by (app_name, owner_account) (%s)' % perAccount(subs, ', owner_account') },
          {
            record: 'owner:%s:net_change_beijing_yesterday' % subs,
            expr: 'sum by (app_name, owner_account) (%s)' % perAccount('account:%s:net_change_beijing_yesterday' % subs, ', owner_account'),
          },
        ],
      },
      {
        name: 'tencentchat-slo',
        rules: [
          // 1 while the app's data is fresh, 0 while not: tencentchat_up
          // is 1 and, in background mode, the last refresh is younger
          // than the allowed intervals; an app in background mode with no
          // refresh yet is not fresh. Two replicas: fresh if one is. While
          // the exporter is down there is no sample (TencentChatExporterDown
          // pages for that), so an app removed from the configuration
          // stops counting instead of burning the budget.
          {
            record: 'app:tencentchat_data_fresh:bool',
            expr: |||
              max by (sdkappid, app_name) (
                  ((tencentchat_up == bool 1) unless tencentchat_refresh_interval_seconds)
                or
                  (
                    (tencentchat_up == bool 1)
                    * ((time() - tencentchat_last_refresh_timestamp_seconds) < bool %d * tencentchat_refresh_interval_seconds)
                  )
                or
                  0 * tencentchat_refresh_interval_seconds
              )
            ||| % cfg.slo_data_freshness_max_age_intervals,
          },
        ] + std.flattenArrays([sloRules(slo) for slo in slos]),
      },
    ],
  },

  local t(en, zh) = { en: en, zh: zh },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'tencentchat',
        rules: [
          // The counter starts at 0 for every app, so the very first
          // 131000 is an increase.
          alert('TencentChatOfficialAccountServiceNotEnabled', 'increase(tencentchat_api_errors_total{code="131000"}[15m]) > 0', 'critical', t({
            summary: 'Official account service not enabled for app {{ $labels.app_name }}',
            description: 'Tencent Cloud Chat answered 131000 (official account service not enabled) for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}); no official account of it can be read.',
          }, {
            summary: '应用 {{ $labels.app_name }} 未开通公众号服务',
            description: '腾讯云即时通信 IM 对应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）返回 131000（未开通公众号服务），该应用的公众号都无法读取。',
          })),

          // Compared with the highest value of the window, so it works
          // minutes after a fresh start; small accounts are left out, a
          // share of a few means little. While the API fails the series
          // are absent (values that could not be fetched are omitted):
          // keep_firing_for holds the alert through an outage instead of
          // resolving falsely and paging again when data returns.
          alert('TencentChatOfficialAccountSubscribersDropping', |||
            (
              max_over_time(%(s)s[%(w)s])
              - %(s)s
            ) / max_over_time(%(s)s[%(w)s]) > %(r)s
            and max_over_time(%(s)s[%(w)s]) >= %(m)s
          ||| % { s: subs, w: cfg.subscriber_drop_window, r: num(cfg.subscriber_drop_ratio), m: cfg.subscriber_drop_minimum }, 'warning', t({
            summary: 'Official account {{ $labels.name }} lost {{ $value | humanizePercentage }} of its subscribers',
            description: 'Official account {{ $labels.name }} ({{ $labels.account }}, owner {{ $labels.owner_account }}) of app {{ $labels.app_name }} has {{ $value | humanizePercentage }} fewer subscribers than its highest count of the last %s.' % cfg.subscriber_drop_window,
          }, {
            summary: '公众号 {{ $labels.name }} 的订阅者减少了 {{ $value | humanizePercentage }}',
            description: '应用 {{ $labels.app_name }} 的公众号 {{ $labels.name }}（{{ $labels.account }}，所有者 {{ $labels.owner_account }}）的订阅者比最近 %s 内的最高值少了 {{ $value | humanizePercentage }}。' % cfg.subscriber_drop_window,
          }), hold=cfg.subscriber_drop_for, keep=cfg.keep_firing_for),

          // The limit is the configured max_subscribers (Tencent's API
          // does not return it), beside every subscriber value with the
          // same labels.
          alert('TencentChatOfficialAccountNearCapacity', |||
            %(s)s / tencentchat_official_account_subscriber_limit >= %(r)s
            and %(s)s < tencentchat_official_account_subscriber_limit
          ||| % { s: subs, r: num(cfg.capacity_near_ratio) }, 'warning', t({
            summary: 'Official account {{ $labels.name }} is at {{ $value | humanizePercentage }} of its subscriber cap',
            description: 'Official account {{ $labels.name }} ({{ $labels.account }}, owner {{ $labels.owner_account }}) of app {{ $labels.app_name }} has {{ $value | humanizePercentage }} of the subscribers its cap (max_subscribers) allows; at the cap, new users can no longer subscribe.',
          }, {
            summary: '公众号 {{ $labels.name }} 的订阅者已达上限的 {{ $value | humanizePercentage }}',
            description: '应用 {{ $labels.app_name }} 的公众号 {{ $labels.name }}（{{ $labels.account }}，所有者 {{ $labels.owner_account }}）的订阅者已达上限（max_subscribers）的 {{ $value | humanizePercentage }}；达到上限后新用户将无法订阅。',
          }), hold=cfg.capacity_near_for),

          alert('TencentChatOfficialAccountFull', '%s >= tencentchat_official_account_subscriber_limit' % subs, 'critical', t({
            summary: 'Official account {{ $labels.name }} is full, new subscriptions are refused',
            description: 'Official account {{ $labels.name }} ({{ $labels.account }}, owner {{ $labels.owner_account }}) of app {{ $labels.app_name }} has reached its subscriber cap ({{ $value }} subscribers); Tencent refuses new subscriptions until the cap is raised.',
          }, {
            summary: '公众号 {{ $labels.name }} 订阅已满，新订阅被拒绝',
            description: '应用 {{ $labels.app_name }} 的公众号 {{ $labels.name }}（{{ $labels.account }}，所有者 {{ $labels.owner_account }}）已达到订阅者上限（{{ $value }} 个订阅者）；在提高上限之前，腾讯云会拒绝新的订阅。',
          }), hold=cfg.capacity_full_for),

          // A linear fit of the fill window's growth reaches the cap
          // within the horizon; guarded by a minimum share of the cap
          // already used, and by the near-capacity alert taking over once
          // it fires.
          alert('TencentChatOfficialAccountFillingUp', |||
            predict_linear(%(s)s[%(w)s], %(h)d)
              >= tencentchat_official_account_subscriber_limit
            and %(s)s / tencentchat_official_account_subscriber_limit >= %(min)s
            and %(s)s / tencentchat_official_account_subscriber_limit < %(near)s
          ||| % { s: subs, w: cfg.capacity_fill_window, h: cfg.capacity_fill_horizon_seconds, min: num(cfg.capacity_fill_minimum_ratio), near: num(cfg.capacity_near_ratio) }, 'warning', t({
            summary: 'Official account {{ $labels.name }} will reach its subscriber cap soon at its present growth',
            description: 'At the growth of the last %s, official account {{ $labels.name }} ({{ $labels.account }}, owner {{ $labels.owner_account }}) of app {{ $labels.app_name }} reaches its subscriber cap (max_subscribers) within %d seconds.' % [cfg.capacity_fill_window, cfg.capacity_fill_horizon_seconds],
          }, {
            summary: '按当前增速，公众号 {{ $labels.name }} 很快将达到订阅者上限',
            description: '按最近 %s 的增速，应用 {{ $labels.app_name }} 的公众号 {{ $labels.name }}（{{ $labels.account }}，所有者 {{ $labels.owner_account }}）将在 %d 秒内达到订阅者上限（max_subscribers）。' % [cfg.capacity_fill_window, cfg.capacity_fill_horizon_seconds],
          }), hold=cfg.capacity_fill_for),

          // Only accounts that have published have the series: an account
          // that never published does not alert.
          alert('TencentChatOfficialAccountNotPublishing', 'time() - tencentchat_official_account_last_published_timestamp_seconds > %d' % cfg.not_publishing_seconds, 'warning', t({
            summary: 'Official account {{ $labels.name }} has not published for {{ $value | humanizeDuration }}',
            description: 'Official account {{ $labels.name }} ({{ $labels.account }}, owner {{ $labels.owner_account }}) of app {{ $labels.app_name }} last published a message {{ $value | humanizeDuration }} ago.',
          }, {
            summary: '公众号 {{ $labels.name }} 已有 {{ $value | humanizeDuration }} 未发布消息',
            description: '应用 {{ $labels.app_name }} 的公众号 {{ $labels.name }}（{{ $labels.account }}，所有者 {{ $labels.owner_account }}）最近一次发布消息是在 {{ $value | humanizeDuration }} 之前。',
          }), hold='1h'),

          // The daily funnel reports yesterday; offset 1w is the same
          // weekday a week before. An expired vendor credential shows as
          // one platform's delivered falling to 0 while the others hold.
          alert('TencentChatPushDeliveryDropped', |||
            (
              sum without (stage) (tencentchat_app_daily_push_notifications_by_platform{stage="delivered"})
              / sum without (stage) (tencentchat_app_daily_push_notifications_by_platform{stage="sent"})
            )
            < %(f)s * (
              sum without (stage) (tencentchat_app_daily_push_notifications_by_platform{stage="delivered"} offset 1w)
              / sum without (stage) (tencentchat_app_daily_push_notifications_by_platform{stage="sent"} offset 1w)
            )
            and sum without (stage) (tencentchat_app_daily_push_notifications_by_platform{stage="sent"}) >= %(m)s
          ||| % { f: num(cfg.push_delivery_floor), m: cfg.push_delivery_minimum_sent }, 'warning', t({
            summary: 'Push delivery on {{ $labels.platform }} fell for app {{ $labels.app_name }}',
            description: 'Yesterday {{ $value | humanizePercentage }} of the offline pushes sent through {{ $labels.platform }} for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) reached the device, under %s of the share a week earlier; check that vendor\'s push credentials in the console.' % num(cfg.push_delivery_floor),
          }, {
            summary: '应用 {{ $labels.app_name }} 在 {{ $labels.platform }} 通道的推送到达率下降',
            description: '昨天应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）通过 {{ $labels.platform }} 发送的离线推送只有 {{ $value | humanizePercentage }} 到达设备，低于一周前同一天比例的 %s；请在控制台检查该厂商的推送证书。' % num(cfg.push_delivery_floor),
          }), hold=cfg.push_delivery_for),

          // Only when the app's calls succeed: a failing batch is the API
          // alert's business, and an API outage must not look like a
          // recovery.
          alert('TencentChatOfficialAccountUnavailable', 'tencentchat_official_account_up == 0 and on (sdkappid, app_name) tencentchat_up == 1', 'warning', t({
            summary: 'Official account {{ $labels.account }} of app {{ $labels.app_name }} is unavailable',
            description: 'Tencent Cloud Chat returns an error for official account {{ $labels.account }} of app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}), usually 130004 (terminated or unknown) or 130007 (malformed ID).',
          }, {
            summary: '应用 {{ $labels.app_name }} 的公众号 {{ $labels.account }} 不可用',
            description: '腾讯云即时通信 IM 对应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的公众号 {{ $labels.account }} 返回错误，通常是 130004（已注销或不存在）或 130007（ID 格式错误）。',
          }), hold=cfg.account_unavailable_for, keep=cfg.keep_firing_for),

          // 70001 alone is healed by re-signing; it counts only while
          // calls keep failing.
          alert('TencentChatAPICredentialsRejected', |||
            sum by (sdkappid, app_name, code) (increase(tencentchat_api_errors_total{code=~"70001|70003|70009|70013|70014|60010"}[10m])) > 0
            and on (sdkappid, app_name) tencentchat_up == 0
          |||, 'critical', t({
            summary: 'Tencent Cloud Chat rejects the credentials of app {{ $labels.app_name }} (code {{ $labels.code }})',
            description: 'API calls for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) fail with UserSig or credential code {{ $labels.code }}.',
          }, {
            summary: '腾讯云即时通信 IM 拒绝了应用 {{ $labels.app_name }} 的凭据（错误码 {{ $labels.code }}）',
            description: '应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的 API 调用因 UserSig 或凭据错误码 {{ $labels.code }} 失败。',
          }), hold='5m'),

          // A 5m window held for 10m: one burst of limiting does not fire.
          alert('TencentChatAPIRateLimited', 'sum by (sdkappid, app_name, code) (increase(tencentchat_api_errors_total{code=~"60007|60011|60018|60019"}[5m])) > 0', 'warning', t({
            summary: 'Tencent Cloud Chat rate-limits app {{ $labels.app_name }} (code {{ $labels.code }})',
            description: 'API calls for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) have been answered with rate-limit code {{ $labels.code }} for 10 minutes.',
          }, {
            summary: '腾讯云即时通信 IM 对应用 {{ $labels.app_name }} 限频（错误码 {{ $labels.code }}）',
            description: '应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的 API 调用已连续 10 分钟收到限频错误码 {{ $labels.code }}。',
          }), hold='10m'),

          // Adjust exporter_selector to the job names of your scrape
          // configs.
          alert('TencentChatExporterDown', 'up{%s} == 0' % cfg.exporter_selector, 'critical', t({
            summary: 'tencentchat_exporter target {{ $labels.instance }} is down',
            description: 'Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }}; no official account metrics come from it.',
          }, {
            summary: 'tencentchat_exporter 目标 {{ $labels.instance }} 已宕机',
            description: 'Prometheus 无法抓取任务 {{ $labels.job }} 的 {{ $labels.instance }}，收不到它的任何公众号指标。',
          }), hold='5m'),

          alert('TencentChatExporterConfigReloadFailed', 'tencentchat_exporter_config_last_reload_successful == 0', 'warning', t({
            summary: 'tencentchat_exporter {{ $labels.instance }} refused its configuration',
            description: 'The last configuration reload of {{ $labels.instance }} failed; it keeps serving the previous configuration. Its log names the file, app and key at fault.',
          }, {
            summary: 'tencentchat_exporter {{ $labels.instance }} 拒绝了新配置',
            description: '{{ $labels.instance }} 最近一次重新加载配置失败，仍在使用之前的配置。它的日志写明了出错的文件、应用和配置项。',
          }), hold='5m'),
        ],
      },
      {
        name: 'tencentchat-app-statistics',
        rules: [
          // The gauge holds the most recent complete day, so a week ago it
          // held the same weekday: weekly rhythms do not fire.
          alert('TencentChatAppDailyActiveUsersDropped', |||
            tencentchat_app_daily_active_users
              < %s * (tencentchat_app_daily_active_users offset 7d)
          ||| % num(cfg.daily_active_users_floor), 'warning', t({
            summary: 'Daily active users of app {{ $labels.app_name }} fell by more than 30% week over week',
            description: 'App {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) had {{ $value }} daily active users on its last complete day, less than 70% of the same weekday a week earlier.',
          }, {
            summary: '应用 {{ $labels.app_name }} 的日活跃用户数同比上周下降超过 30%',
            description: '应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）最近一个完整日的日活跃用户数为 {{ $value }}，不到上周同一天的 70%。',
          }), hold='1h'),

          alert('TencentChatAppCallbacksFailing', |||
            tencentchat_app_daily_callback_responses / tencentchat_app_daily_callback_requests < %s
            and tencentchat_app_daily_callback_requests > 0
          ||| % num(cfg.callback_answered_ratio), 'warning', t({
            summary: "The server of app {{ $labels.app_name }} answered {{ $value | humanizePercentage }} of Tencent's callbacks",
            description: 'On its last complete day, app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) answered {{ $value | humanizePercentage }} of the callbacks Tencent Cloud Chat sent to its server, below 99%.',
          }, {
            summary: '应用 {{ $labels.app_name }} 的服务器只应答了 {{ $value | humanizePercentage }} 的腾讯云回调',
            description: '最近一个完整日，应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的服务器只应答了腾讯云即时通信 IM 发来回调的 {{ $value | humanizePercentage }}，低于 99%。',
          }), hold='30m'),

          // Not refreshed for several of the app's intervals, or never
          // since the exporter started.
          alert('TencentChatAppStatisticsStale', |||
            (time() - tencentchat_app_statistics_last_refresh_timestamp_seconds)
              > %d * tencentchat_app_statistics_interval_seconds
            or
            (tencentchat_app_statistics_interval_seconds
              unless on (sdkappid, app_name) tencentchat_app_statistics_last_refresh_timestamp_seconds)
          ||| % cfg.statistics_stale_intervals, 'warning', t({
            summary: 'App statistics of app {{ $labels.app_name }} are not refreshed',
            description: 'getappinfo has not been answered for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) for more than three app_statistics_interval; the statistics served are old or missing.',
          }, {
            summary: '应用 {{ $labels.app_name }} 的应用统计未刷新',
            description: '应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的 getappinfo 已超过三个 app_statistics_interval 没有应答，提供的统计数据已过旧或缺失。',
          }), hold='30m'),

          // getappinfo answers, but its newest complete day is old: the
          // daily gauges are not today's picture.
          alert('TencentChatAppStatisticsDayOld', '(time() - tencentchat_app_statistics_day_timestamp_seconds) > %d * 86400' % cfg.statistics_day_max_days, 'warning', t({
            summary: 'App statistics of app {{ $labels.app_name }} are of an old day',
            description: 'The newest complete day getappinfo gives for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) began {{ $value | humanizeDuration }} ago; Tencent has not published the days since.',
          }, {
            summary: '应用 {{ $labels.app_name }} 的应用统计停留在旧的日期',
            description: 'getappinfo 给出的应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）最新完整日开始于 {{ $value | humanizeDuration }} 之前；之后的日期腾讯云尚未发布。',
          }), hold='1h'),

          // Tencent allows 200 calls per second per app, shared with the
          // app's own backend. An exporter scraped by several jobs
          // exposes the same counter to each: the largest job's rate
          // counts, summed over the exporters in it.
          alert('TencentChatAPIBudgetHigh', |||
            max by (sdkappid, app_name) (
              sum by (sdkappid, app_name, job) (rate(tencentchat_api_requests_total[5m]))
            ) > %s * 200
          ||| % num(cfg.api_budget_share), 'warning', t({
            summary: "The exporter spends {{ $value | humanize }} calls per second of app {{ $labels.app_name }}'s API budget",
            description: "For 10 minutes the exporter has called the API for app {{ $labels.app_name }} (SDKAppID {{ $labels.sdkappid }}) {{ $value | humanize }} times a second, above 80% of Tencent's 200 per second, which the app's own backend shares.",
          }, {
            summary: 'exporter 每秒调用 {{ $value | humanize }} 次，占用应用 {{ $labels.app_name }} 的 API 额度过多',
            description: 'exporter 已连续 10 分钟以每秒 {{ $value | humanize }} 次调用应用 {{ $labels.app_name }}（SDKAppID {{ $labels.sdkappid }}）的 API，超过腾讯云每秒 200 次上限的 80%，而这一额度与应用自己的后台共享。',
          }), hold='10m'),
        ],
      },
      {
        // Service level objectives: recording rules in prometheusRules,
        // objectives in _config.
        name: 'tencentchat-slo',
        rules: std.flattenArrays([burnAlerts(slo) for slo in slos]),
      },
    ],
  },

  grafanaDashboards+:: {
    'tencentchat-official-accounts.json': (import 'dashboards/tencentchat-official-accounts.json') + {
      timezone: cfg.dashboard_timezone,
      uid: cfg.dashboard_uid,
    },
  },
}
