//! Every word of the dashboard in English and Simplified Chinese, and how a request picks one: `?lang=`, else `Accept-Language`, else English.

use axum::http::{HeaderMap, Uri, header};
use tryon_api::Locale;
use tryon_api::funnel::FunnelStep;

/// The dashboard's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// `?lang=` when it names a language, else the best of `Accept-Language`, else English.
    pub fn pick(param: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = param.and_then(Lang::from_tag) {
            return lang;
        }
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut best: Option<(f32, Lang)> = None;
        for item in accepted.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && weight > 0.0
                && best.is_none_or(|(w, _)| weight > w)
            {
                best = Some((weight, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The BCP 47 tag, for `lang=` and links.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The catalogue's locale, for the meaning of failure codes.
    pub fn locale(self) -> Locale {
        match self {
            Lang::En => Locale::En,
            Lang::ZhCn => Locale::ZhCn,
        }
    }

    /// The words of this language.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH,
        }
    }
}

/// The `lang` parameter of a request's query string, if any.
pub fn lang_param(uri: &Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "lang")
        .map(|(_, value)| value.to_owned())
}

/// The dashboard's words in one language.
pub struct Words {
    pub title: &'static str,
    pub sign_in_title: &'static str,
    pub sign_in_hint: &'static str,
    pub token_label: &'static str,
    pub sign_in: &'static str,
    pub wrong_token: &'static str,
    pub sign_out: &'static str,
    pub other_language: &'static str,
    pub period: &'static str,
    pub today: &'static str,
    /// "{n} days", with `{n}` replaced.
    pub days: &'static str,
    pub tryons_today: &'static str,
    pub succeeded: &'static str,
    pub failed: &'static str,
    pub in_progress: &'static str,
    pub images_today: &'static str,
    pub spend_today: &'static str,
    /// "of a cap of {cap}", with `{cap}` replaced.
    pub of_cap: &'static str,
    pub no_cap: &'static str,
    pub time_to_result: &'static str,
    pub median: &'static str,
    pub p95: &'static str,
    /// "results: {n}", with `{n}` replaced.
    pub results: &'static str,
    pub no_results_yet: &'static str,
    pub queue_now: &'static str,
    pub waiting: &'static str,
    pub running: &'static str,
    pub tryons_per_day: &'static str,
    /// "Try-ons in this period:", before the period's count.
    pub period_tryons: &'static str,
    pub spend_per_day: &'static str,
    pub daily_cap: &'static str,
    pub period_spend: &'static str,
    pub show_table: &'static str,
    pub date: &'static str,
    pub started: &'static str,
    pub images: &'static str,
    /// "images billed: {n}", with `{n}` replaced.
    pub images_billed: &'static str,
    pub spend: &'static str,
    pub failures_by_code: &'static str,
    pub no_failures: &'static str,
    pub code: &'static str,
    pub no_code: &'static str,
    pub meaning: &'static str,
    pub count: &'static str,
    pub funnel: &'static str,
    pub funnel_note: &'static str,
    pub all_products: &'static str,
    pub no_product: &'static str,
    pub shoppers: &'static str,
    pub no_events: &'static str,
    pub more_products: &'static str,
    pub export_csv: &'static str,
    pub export_json: &'static str,
    pub beijing_days: &'static str,
    pub collected: &'static str,
    steps: [&'static str; 6],
}

impl Words {
    /// The name of a funnel step.
    pub fn step(&self, step: FunnelStep) -> &'static str {
        let index = FunnelStep::ALL
            .iter()
            .position(|s| *s == step)
            .unwrap_or_default();
        self.steps[index]
    }
}

static EN: Words = Words {
    title: "Try-on dashboard",
    sign_in_title: "Sign in to the try-on dashboard",
    sign_in_hint: "Use the admin token the proxy was started with (TRYON_ADMIN_TOKEN).",
    token_label: "Admin token",
    sign_in: "Sign in",
    wrong_token: "That token is not right.",
    sign_out: "Sign out",
    other_language: "中文",
    period: "Period",
    today: "Today",
    days: "{n} days",
    tryons_today: "Try-ons today",
    succeeded: "succeeded",
    failed: "failed",
    in_progress: "in progress",
    images_today: "Images billed today",
    spend_today: "Spend today",
    of_cap: "of a daily cap of {cap}",
    no_cap: "no daily cap set",
    time_to_result: "Time to result",
    median: "median",
    p95: "p95",
    results: "results: {n}",
    no_results_yet: "no results in this period yet",
    queue_now: "Queue now",
    waiting: "waiting",
    running: "running",
    tryons_per_day: "Try-ons per day",
    period_tryons: "Try-ons in this period:",
    spend_per_day: "Spend per day (CNY)",
    daily_cap: "daily cap",
    period_spend: "spent in this period",
    show_table: "Show as a table",
    date: "Date",
    started: "Started",
    images: "Images",
    images_billed: "images billed: {n}",
    spend: "Spend",
    failures_by_code: "Failures by code",
    no_failures: "No failures in this period.",
    code: "Code",
    no_code: "(no code)",
    meaning: "What the shopper was told",
    count: "Count",
    funnel: "Funnel",
    funnel_note: "Shoppers per step. \u{201c}Button shown\u{201d} counts only pages where the shopper went on to tap: nothing is sent before.",
    all_products: "All products",
    no_product: "(no product id)",
    shoppers: "shoppers",
    no_events: "No widget events in this period yet.",
    more_products: "more products in the CSV and JSON",
    export_csv: "Download CSV (one row per job)",
    export_json: "Figures as JSON",
    beijing_days: "Days are Beijing days (UTC+8), as the upstream bills them.",
    collected: "Collected: try-on times, states and codes; the widget's steps with a product id and an anonymous shopper key (90 days). Never photos, their addresses or IP addresses.",
    steps: [
        "Button shown",
        "Dialog opened",
        "Photo given",
        "Generate",
        "Result seen",
        "Add to cart",
    ],
};

static ZH: Words = Words {
    title: "试衣数据面板",
    sign_in_title: "登录试衣数据面板",
    sign_in_hint: "请输入代理启动时设置的管理口令（TRYON_ADMIN_TOKEN）。",
    token_label: "管理口令",
    sign_in: "登录",
    wrong_token: "口令不正确。",
    sign_out: "退出登录",
    other_language: "English",
    period: "时段",
    today: "今天",
    days: "{n} 天",
    tryons_today: "今日试衣",
    succeeded: "成功",
    failed: "失败",
    in_progress: "进行中",
    images_today: "今日计费图片",
    spend_today: "今日花费",
    of_cap: "每日上限 {cap}",
    no_cap: "未设每日上限",
    time_to_result: "出图时间",
    median: "中位数",
    p95: "95 分位",
    results: "共 {n} 次出图",
    no_results_yet: "该时段内暂无出图",
    queue_now: "当前队列",
    waiting: "等待中",
    running: "生成中",
    tryons_per_day: "每日试衣",
    period_tryons: "本时段试衣：",
    spend_per_day: "每日花费（元）",
    daily_cap: "每日上限",
    period_spend: "本时段花费",
    show_table: "以表格显示",
    date: "日期",
    started: "发起",
    images: "图片",
    images_billed: "计费图片 {n} 张",
    spend: "花费",
    failures_by_code: "失败原因（按错误码）",
    no_failures: "该时段内没有失败。",
    code: "错误码",
    no_code: "（无错误码）",
    meaning: "顾客看到的说明",
    count: "次数",
    funnel: "转化漏斗",
    funnel_note: "每一步的顾客人数。“按钮展示”只统计顾客随后点击过的页面：点击之前不发送任何数据。",
    all_products: "全部商品",
    no_product: "（无商品编号）",
    shoppers: "位顾客",
    no_events: "该时段内暂无组件事件。",
    more_products: "其余商品见 CSV 和 JSON",
    export_csv: "下载 CSV（每个任务一行）",
    export_json: "JSON 数据",
    beijing_days: "日期按北京时间（UTC+8）计算，与上游计费日一致。",
    collected: "收集内容：试衣的时间、状态和错误码；组件各步骤的商品编号与匿名顾客标识（保留 90 天）。从不收集照片、照片地址或 IP 地址。",
    steps: [
        "按钮展示",
        "打开试衣",
        "提供照片",
        "点击生成",
        "看到效果",
        "加入购物车",
    ],
};

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn the_parameter_wins_then_the_best_accepted_language_then_english() {
        assert_eq!(Lang::pick(Some("zh-CN"), &accepting("en")), Lang::ZhCn);
        assert_eq!(
            Lang::pick(Some("fr"), &accepting("zh-TW,en;q=0.5")),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::pick(None, &accepting("fr,en;q=0.4,zh;q=0.8")),
            Lang::ZhCn
        );
        assert_eq!(Lang::pick(None, &accepting("de")), Lang::En);
        assert_eq!(Lang::pick(None, &HeaderMap::new()), Lang::En);
        assert_eq!(
            lang_param(&"/admin/?days=7&lang=zh-CN".parse().unwrap()).as_deref(),
            Some("zh-CN")
        );
    }

    #[test]
    fn both_languages_name_every_step() {
        for lang in [Lang::En, Lang::ZhCn] {
            for step in FunnelStep::ALL {
                assert!(!lang.words().step(step).is_empty());
            }
        }
        assert_eq!(Lang::ZhCn.words().step(FunnelStep::AddToCart), "加入购物车");
    }
}
