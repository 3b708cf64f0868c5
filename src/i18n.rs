//! Every shopper-facing string the widget adds, in English and Simplified Chinese.
//!
//! Error explanations of the service itself come from the contract's catalogue
//! (`ErrorKind::explain`); this module holds only the widget's own words, so that a
//! translator finds all of them in one place.

use tryon_api::Locale;
use tryon_api::rules::{MAX_FILE_BYTES, MIN_FILE_BYTES, RuleViolation};
use tryon_api::status::Stage;

/// The fixed strings of one language.
#[derive(Debug)]
pub struct Texts {
    /// The button on the product page that opens the dialog.
    pub try_it_on: &'static str,
    /// The dialog's heading.
    pub dialog_title: &'static str,
    /// The accessible name of the dialog's close button.
    pub close: &'static str,
    /// The label of the file input.
    pub your_photo: &'static str,
    /// The hint under the file input.
    pub photo_hint: &'static str,
    /// The submit button.
    pub generate: &'static str,
    /// The caption over the garment preview.
    pub garment_caption: &'static str,
    /// The alternative text of the result image.
    pub result_alt: &'static str,
    /// The status while the photo is being checked and prepared.
    pub preparing_photo: &'static str,
    /// The status while the photo is uploaded.
    pub uploading: &'static str,
    /// The status while the try-on task is created.
    pub starting: &'static str,
    /// The caption of the result.
    pub result_caption: &'static str,
    /// No file was chosen before "Generate".
    pub no_photo: (&'static str, &'static str),
    /// A code the catalogue does not know, or an answer the widget cannot read.
    pub generic: (&'static str, &'static str),
    /// The proxy could not be reached at all.
    pub network: (&'static str, &'static str),
    /// The task did not finish before the deadline.
    pub timed_out: (&'static str, &'static str),
    /// The task was cancelled upstream.
    pub canceled: (&'static str, &'static str),
}

const EN: Texts = Texts {
    try_it_on: "Try it on",
    dialog_title: "Virtual try-on",
    close: "Close",
    your_photo: "Your photo",
    photo_hint: "A full-length photo of just you, facing the camera. JPEG, PNG, BMP, HEIC or WEBP, 5 KB to 5 MB.",
    generate: "Generate",
    garment_caption: "You are trying on",
    result_alt: "Your try-on result",
    preparing_photo: "Checking your photo",
    uploading: "Uploading your photo",
    starting: "Starting your try-on",
    result_caption: "Your try-on result. The picture is kept for 24 hours.",
    no_photo: (
        "Please choose a photo first.",
        "Use the \"Your photo\" field to pick a full-length photo of yourself.",
    ),
    generic: (
        "Something went wrong with your try-on.",
        "Please try again.",
    ),
    network: (
        "We could not reach the try-on service.",
        "Please check your connection and try again.",
    ),
    timed_out: (
        "Your try-on is taking much longer than usual.",
        "Please try again later.",
    ),
    canceled: (
        "Your try-on was cancelled.",
        "Press \"Generate\" to start again.",
    ),
};

const ZH_CN: Texts = Texts {
    try_it_on: "试穿一下",
    dialog_title: "虚拟试衣",
    close: "关闭",
    your_photo: "您的照片",
    photo_hint: "请使用只有您本人的正面全身照，支持 JPEG、PNG、BMP、HEIC、WEBP，大小 5KB～5MB。",
    generate: "生成",
    garment_caption: "您正在试穿",
    result_alt: "您的试穿效果图",
    preparing_photo: "正在检查照片",
    uploading: "正在上传照片",
    starting: "正在开始试衣",
    result_caption: "您的试穿效果图，图片保留 24 小时。",
    no_photo: ("请先选择一张照片。", "请在“您的照片”处选择一张您的全身照。"),
    generic: ("试衣出现问题。", "请重试。"),
    network: ("无法连接试衣服务。", "请检查网络后重试。"),
    timed_out: ("本次试衣耗时远超平常。", "请稍后再试。"),
    canceled: ("本次试衣已取消。", "点击“生成”重新开始。"),
};

/// The fixed strings of `locale`.
pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::En => &EN,
        Locale::ZhCn => &ZH_CN,
    }
}

/// The name of a waiting stage, as shown in the status view.
pub fn stage_label(locale: Locale, stage: Stage) -> &'static str {
    match (locale, stage) {
        (Locale::En, Stage::Queued) => "Queued",
        (Locale::En, Stage::Preparing) => "Preparing",
        (Locale::En, Stage::Generating) => "Generating",
        (Locale::En, Stage::Finishing) => "Finishing",
        (Locale::En, Stage::Done) => "Done",
        (Locale::En, Stage::Stopped) => "Stopped",
        (Locale::ZhCn, Stage::Queued) => "排队中",
        (Locale::ZhCn, Stage::Preparing) => "准备中",
        (Locale::ZhCn, Stage::Generating) => "生成中",
        (Locale::ZhCn, Stage::Finishing) => "收尾中",
        (Locale::ZhCn, Stage::Done) => "已完成",
        (Locale::ZhCn, Stage::Stopped) => "已停止",
    }
}

/// How long the shopper has been waiting.
pub fn elapsed(locale: Locale, seconds: u32) -> String {
    match locale {
        Locale::En => format!("{seconds} s elapsed"),
        Locale::ZhCn => format!("已用时 {seconds} 秒"),
    }
}

/// How many jobs wait before the shopper's (the proxy adds this to task answers).
pub fn queue_position(locale: Locale, ahead: u32) -> String {
    match (locale, ahead) {
        (Locale::En, 1) => "1 try-on ahead of yours".to_owned(),
        (Locale::En, n) => format!("{n} try-ons ahead of yours"),
        (Locale::ZhCn, n) => format!("前面还有 {n} 位"),
    }
}

/// What is wrong with a chosen photo and what to do, for violations found in the browser.
pub fn photo_problem(locale: Locale, violation: &RuleViolation) -> (String, String) {
    let (min_kb, max_mb) = (MIN_FILE_BYTES / 1024, MAX_FILE_BYTES / (1024 * 1024));
    match (locale, violation) {
        (Locale::En, RuleViolation::FileTooSmall { bytes }) => (
            format!("This photo file is too small ({}).", size_text(*bytes)),
            format!("Please choose a photo of at least {min_kb} KB."),
        ),
        (Locale::En, RuleViolation::FileTooLarge { bytes }) => (
            format!("This photo file is too large ({}).", size_text(*bytes)),
            format!("Please choose a photo of at most {max_mb} MB."),
        ),
        (Locale::ZhCn, RuleViolation::FileTooSmall { bytes }) => (
            format!("照片文件太小（{}）。", size_text(*bytes)),
            format!("请选择不小于 {min_kb}KB 的照片。"),
        ),
        (Locale::ZhCn, RuleViolation::FileTooLarge { bytes }) => (
            format!("照片文件太大（{}）。", size_text(*bytes)),
            format!("请选择不超过 {max_mb}MB 的照片。"),
        ),
        // The other violations are found by the proxy today; they share the catalogue's words.
        (_, other) => {
            let text = other.upload_error().explain(locale);
            (text.what.to_owned(), text.next.to_owned())
        }
    }
}

/// A file size in the unit a shopper reads most easily.
fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_to_end_names_are_exact_in_english() {
        let en = texts(Locale::En);
        assert_eq!(en.try_it_on, "Try it on");
        assert_eq!(en.your_photo, "Your photo");
        assert_eq!(en.generate, "Generate");
        assert_eq!(en.result_alt, "Your try-on result");
    }

    #[test]
    fn size_problems_name_the_size_and_the_limit() {
        let (what, next) = photo_problem(Locale::En, &RuleViolation::FileTooSmall { bytes: 1024 });
        assert_eq!(what, "This photo file is too small (1 KB).");
        assert_eq!(next, "Please choose a photo of at least 5 KB.");
        let (what, next) = photo_problem(
            Locale::ZhCn,
            &RuleViolation::FileTooLarge {
                bytes: 6 * 1024 * 1024,
            },
        );
        assert_eq!(what, "照片文件太大（6.0 MB）。");
        assert_eq!(next, "请选择不超过 5MB 的照片。");
    }

    #[test]
    fn every_stage_has_a_label_in_both_languages() {
        for stage in [
            Stage::Queued,
            Stage::Preparing,
            Stage::Generating,
            Stage::Finishing,
            Stage::Done,
            Stage::Stopped,
        ] {
            assert!(!stage_label(Locale::En, stage).is_empty());
            assert!(!stage_label(Locale::ZhCn, stage).is_empty());
        }
    }
}
