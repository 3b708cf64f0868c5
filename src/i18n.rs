//! Every shopper-facing string the widget adds, in English and Simplified Chinese.
//!
//! Error explanations of the service itself come from the contract's catalogue
//! (`ErrorKind::explain`); this module holds only the widget's own words, so that a
//! translator finds all of them in one place.

use tryon_api::Locale;
use tryon_api::rules::{ImageFormat, MAX_FILE_BYTES, MIN_FILE_BYTES, MIN_SIDE_PX, RuleViolation};
use tryon_api::status::Stage;

use crate::offer::Offer;

/// The fixed strings of one language.
#[derive(Debug)]
pub struct Texts {
    /// The button on the product page that opens the dialog (the loader repeats it).
    pub try_it_on: &'static str,
    /// The button when the shop's try-on is switched off or its caps are spent.
    pub unavailable: &'static str,
    /// The dialog's heading.
    pub dialog_title: &'static str,
    /// The accessible name of the dialog's close button.
    pub close: &'static str,
    /// The label of the file input.
    pub your_photo: &'static str,
    /// The hint under the file input.
    pub photo_hint: &'static str,
    /// The drop zone's words.
    pub drop_here: &'static str,
    /// The label of the camera input (phones open the camera).
    pub take_photo: &'static str,
    /// The heading over the sample models.
    pub samples_legend: &'static str,
    /// The alternative text of the chosen photo's preview.
    pub chosen_alt: &'static str,
    /// The summary of the folded photo guidance.
    pub tips_summary: &'static str,
    /// What a good photo looks like.
    pub tip_good: &'static str,
    /// A photo with two people fails.
    pub tip_bad_group: &'static str,
    /// A tiny or cropped photo fails.
    pub tip_bad_small: &'static str,
    /// The legend of the mode choice.
    pub how_legend: &'static str,
    /// A top with a generated bottom.
    pub with_generated_bottom: &'static str,
    /// A top over the shopper's own bottoms.
    pub keep_own_bottoms: &'static str,
    /// A bottom with a generated top.
    pub with_generated_top: &'static str,
    /// A bottom under the shopper's own top.
    pub keep_own_top: &'static str,
    /// The summary of the folded options.
    pub options_summary: &'static str,
    /// The legend of the face choice.
    pub face_legend: &'static str,
    /// Keep the shopper's own face.
    pub keep_face: &'static str,
    /// Let the model generate a face.
    pub new_face: &'static str,
    /// Ask for a new face where the upstream only tries to (its capabilities say best effort).
    pub new_face_best_effort: &'static str,
    /// The label of the resolution choice.
    pub size_label: &'static str,
    /// The photo's own size.
    pub size_original: &'static str,
    /// 576 x 1024.
    pub size_1024: &'static str,
    /// 720 x 1280.
    pub size_1280: &'static str,
    /// The submit button.
    pub generate: &'static str,
    /// The cancel button while waiting.
    pub cancel: &'static str,
    /// The caption over the garment preview.
    pub garment_caption: &'static str,
    /// The alternative text of the result image.
    pub result_alt: &'static str,
    /// The alternative text of the photo under the comparison slider.
    pub before_alt: &'static str,
    /// The label of the comparison slider.
    pub compare_label: &'static str,
    /// The download link.
    pub download: &'static str,
    /// Starts over with another photo.
    pub try_another: &'static str,
    /// Adds the product to the shop's cart.
    pub add_to_cart: &'static str,
    /// Said after "Add to cart".
    pub added_to_cart: &'static str,
    /// The status while the photo is being checked and prepared.
    pub preparing_photo: &'static str,
    /// The status while the photo is uploaded.
    pub uploading: &'static str,
    /// The status while the shopper's own garment is cut out.
    pub segmenting: &'static str,
    /// The status while the try-on task is created.
    pub starting: &'static str,
    /// Said when the picture is ready.
    pub ready: &'static str,
    /// The heading of the result, which takes the focus when the result appears.
    pub result_title: &'static str,
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
    /// The task was cancelled.
    pub canceled: (&'static str, &'static str),
    /// The shopper's own garment could not be cut out of the photo.
    pub no_own_garment: (&'static str, &'static str),
    /// The browser could not decode the photo to prepare it.
    pub undecodable: (&'static str, &'static str),
    /// The consent checkbox that keeps the photo for the shop's other products and visits.
    pub remember_photo: &'static str,
    /// The button that deletes a remembered photo.
    pub forget_photo: &'static str,
    /// The caption (and alternative text) of a remembered photo in the photo field.
    pub saved_photo: &'static str,
    /// Said once the remembered photo is deleted.
    pub photo_forgotten: &'static str,
    /// Said when a remembered photo is no longer kept by the shop.
    pub photo_expired: &'static str,
    /// The heading of the region listing the visit's results.
    pub my_looks: &'static str,
    /// The checkbox of a look that puts it side by side with another.
    pub compare: &'static str,
    /// How the side-by-side view is reached.
    pub compare_hint: &'static str,
    /// The heading of the side-by-side view.
    pub side_by_side: &'static str,
}

const EN: Texts = Texts {
    try_it_on: "Try it on",
    unavailable: "Try-on is unavailable right now",
    dialog_title: "Virtual try-on",
    close: "Close",
    your_photo: "Your photo",
    photo_hint: "A full-length photo of just you, facing the camera. Large photos are made smaller in your browser.",
    drop_here: "or drop it here",
    take_photo: "Take a photo",
    samples_legend: "No photo at hand? Try a model",
    chosen_alt: "The photo you chose",
    tips_summary: "Which photos work best?",
    tip_good: "Works: one person, head to feet, facing the camera, plain background.",
    tip_bad_group: "Does not work: two or more people.",
    tip_bad_small: "Does not work: a tiny or cropped photo (under 150 pixels a side).",
    how_legend: "How to wear it",
    with_generated_bottom: "With a generated bottom",
    keep_own_bottoms: "Keeping my own bottoms",
    with_generated_top: "With a generated top",
    keep_own_top: "Keeping my own top",
    options_summary: "More options",
    face_legend: "Face",
    keep_face: "Keep my face",
    new_face: "Generate a new face",
    new_face_best_effort: "Try for a new face (not guaranteed)",
    size_label: "Picture size",
    size_original: "Same as my photo",
    size_1024: "576 × 1024",
    size_1280: "720 × 1280",
    generate: "Generate",
    cancel: "Cancel",
    garment_caption: "You are trying on",
    result_alt: "Your try-on result",
    before_alt: "Before: the photo you gave",
    compare_label: "Compare before and after",
    download: "Download",
    try_another: "Try another photo",
    add_to_cart: "Add to cart",
    added_to_cart: "Added to your cart.",
    preparing_photo: "Checking your photo",
    uploading: "Uploading your photo",
    segmenting: "Finding your own clothes",
    starting: "Starting your try-on",
    ready: "Your picture is ready.",
    result_title: "Your try-on",
    result_caption: "A preview made by AI: colours and fit may differ; check the size guide.",
    no_photo: (
        "Please choose a photo first.",
        "Use the \"Your photo\" field to pick a full-length photo of yourself, or try a model.",
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
    no_own_garment: (
        "We could not find your own clothes in this photo.",
        "Choose the generated option instead, or use a photo that shows them clearly.",
    ),
    undecodable: (
        "Your browser could not open this photo.",
        "Please choose a JPEG or PNG photo.",
    ),
    remember_photo: "Remember my photo on this shop",
    forget_photo: "Forget my photo",
    saved_photo: "Your saved photo",
    photo_forgotten: "Your photo is forgotten: deleted in this browser and by the shop.",
    photo_expired: "The shop no longer keeps your saved photo. Please choose a photo again.",
    my_looks: "My looks",
    compare: "Compare",
    compare_hint: "Tick two looks to see them side by side.",
    side_by_side: "Side by side",
};

const ZH_CN: Texts = Texts {
    try_it_on: "试穿一下",
    unavailable: "试衣暂不可用",
    dialog_title: "虚拟试衣",
    close: "关闭",
    your_photo: "您的照片",
    photo_hint: "请使用只有您本人的正面全身照。较大的照片会在浏览器中自动缩小。",
    drop_here: "或拖放到这里",
    take_photo: "拍一张照片",
    samples_legend: "手边没有照片？试试模特",
    chosen_alt: "您选择的照片",
    tips_summary: "什么样的照片效果最好？",
    tip_good: "可以：一个人、从头到脚、正对镜头、背景简单。",
    tip_bad_group: "不行：照片中有两人或更多人。",
    tip_bad_small: "不行：照片太小或被裁切（任一边小于 150 像素）。",
    how_legend: "搭配方式",
    with_generated_bottom: "搭配生成的下装",
    keep_own_bottoms: "保留我自己的下装",
    with_generated_top: "搭配生成的上装",
    keep_own_top: "保留我自己的上装",
    options_summary: "更多选项",
    face_legend: "面部",
    keep_face: "保留我的面部",
    new_face: "生成新的面部",
    new_face_best_effort: "尽量生成新的面部（不保证效果）",
    size_label: "图片尺寸",
    size_original: "与我的照片相同",
    size_1024: "576 × 1024",
    size_1280: "720 × 1280",
    generate: "生成",
    cancel: "取消",
    garment_caption: "您正在试穿",
    result_alt: "您的试穿效果图",
    before_alt: "之前：您提供的照片",
    compare_label: "对比前后效果",
    download: "下载",
    try_another: "换一张照片",
    add_to_cart: "加入购物车",
    added_to_cart: "已加入购物车。",
    preparing_photo: "正在检查照片",
    uploading: "正在上传照片",
    segmenting: "正在识别您自己的服装",
    starting: "正在开始试衣",
    ready: "效果图已生成。",
    result_title: "你的试穿效果",
    result_caption: "由 AI 生成的预览图，颜色和尺码可能与实物不同，请参考尺码表。",
    no_photo: (
        "请先选择一张照片。",
        "请在“您的照片”处选择一张您的全身照，或试试模特。",
    ),
    generic: ("试衣出现问题。", "请重试。"),
    network: ("无法连接试衣服务。", "请检查网络后重试。"),
    timed_out: ("本次试衣耗时远超平常。", "请稍后再试。"),
    canceled: ("本次试衣已取消。", "点击“生成”重新开始。"),
    no_own_garment: (
        "未能在照片中找到您自己的服装。",
        "请改选生成的搭配，或使用能清楚看到服装的照片。",
    ),
    undecodable: (
        "浏览器无法打开这张照片。",
        "请选择 JPEG 或 PNG 格式的照片。",
    ),
    remember_photo: "在本店记住我的照片",
    forget_photo: "忘记我的照片",
    saved_photo: "您保存的照片",
    photo_forgotten: "您的照片已被忘记：已从本浏览器和本店删除。",
    photo_expired: "本店已不再保留您保存的照片，请重新选择一张照片。",
    my_looks: "我的搭配",
    compare: "对比",
    compare_hint: "勾选两套搭配即可并排查看。",
    side_by_side: "并排对比",
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

/// A rough estimate of the wait: the service takes 15-30 s per picture, plus one picture's
/// time for every try-on queued ahead. Shown next to the elapsed time, never announced.
pub fn estimate(locale: Locale, elapsed: u32, ahead: u32) -> String {
    let expected = TYPICAL_SECONDS.saturating_mul(ahead.saturating_add(1));
    match (
        locale,
        expected.checked_sub(elapsed).filter(|left| *left > 0),
    ) {
        (Locale::En, Some(left)) => format!("about {left} s left"),
        (Locale::En, None) => "almost there".to_owned(),
        (Locale::ZhCn, Some(left)) => format!("预计还需约 {left} 秒"),
        (Locale::ZhCn, None) => "马上就好".to_owned(),
    }
}

/// The usual time of one picture, in seconds, for the wait estimate.
pub const TYPICAL_SECONDS: u32 = 25;

/// The consent line: where the photo goes and how long it is kept.
pub fn consent(locale: Locale, hours: u32) -> String {
    match locale {
        Locale::En => format!(
            "Your photo goes only to this shop's try-on service, to make this picture, and is deleted after {hours} hours."
        ),
        Locale::ZhCn => {
            format!("您的照片只会发送到本店的试衣服务，仅用于生成效果图，并在 {hours} 小时后删除。")
        }
    }
}

/// The accessible name of sample model number `n` (from 1).
pub fn sample_label(locale: Locale, n: usize) -> String {
    match locale {
        Locale::En => format!("Use model {n}"),
        Locale::ZhCn => format!("使用模特 {n}"),
    }
}

/// The file name of a downloaded result, after the product: every character that is
/// neither a letter nor a digit (Unicode's Alphabetic and Number, as Rust's
/// `char::is_alphanumeric` has them) becomes `-`. The browser's regular expressions tell
/// them apart, since Rust's own Unicode tables would add 2 KB to the bundle for this one
/// name; so this runs in the browser only (its test is in `tests/web.rs`).
pub fn download_name(product_name: &str) -> String {
    let other = js_sys::RegExp::new(r"[^\p{Alphabetic}\p{N}]", "gu");
    let slug =
        String::from(js_sys::JsString::from(product_name.trim()).replace_by_pattern(&other, "-"));
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        "try-on.jpg".to_owned()
    } else {
        format!("{slug}-try-on.jpg")
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
        (Locale::En, RuleViolation::SideTooSmall { width, height }) => (
            format!("This photo is too small ({width} × {height} pixels) to show a whole person."),
            format!(
                "Please use a photo at least {MIN_SIDE_PX} pixels on each side, such as one taken with your phone."
            ),
        ),
        (Locale::ZhCn, RuleViolation::SideTooSmall { width, height }) => (
            format!("照片太小（{width} × {height} 像素），无法看清整个人。"),
            format!("请使用每边至少 {MIN_SIDE_PX} 像素的照片，例如用手机拍摄的照片。"),
        ),
        // The remaining violations share the catalogue's words with the proxy's refusals.
        (_, other) => {
            let text = other.upload_error().explain(locale);
            (text.what.to_owned(), text.next.to_owned())
        }
    }
}

/// What is wrong with a photo whose format the current upstream does not take, and the
/// formats it does take (those of `offer`).
pub fn format_problem(locale: Locale, format: ImageFormat, offer: &Offer) -> (String, String) {
    let (separator, last) = match locale {
        Locale::En => (", ", " or "),
        Locale::ZhCn => ("、", " 或 "),
    };
    let names: Vec<String> = offer
        .formats()
        .map(|format| format.name().to_ascii_uppercase())
        .collect();
    let mut list = String::new();
    for (index, name) in names.iter().enumerate() {
        if index > 0 {
            list.push_str(if index + 1 == names.len() {
                last
            } else {
                separator
            });
        }
        list.push_str(name);
    }
    let format = format.name().to_ascii_uppercase();
    match locale {
        Locale::En => (
            format!("{format} photos cannot be used for try-on here."),
            format!("Please choose a {list} photo."),
        ),
        Locale::ZhCn => (
            format!("此处的试衣无法使用 {format} 格式的照片。"),
            format!("请选择 {list} 格式的照片。"),
        ),
    }
}

/// A file size in the unit a shopper reads most easily: megabytes with one decimal,
/// rounded half to even as `{:.1}` rounds, or whole kilobytes rounded up. The tenths are
/// counted in integers because formatting a float would add the float printer to the bundle.
fn size_text(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        let (whole, rest) = (bytes * 10 / MB, bytes * 10 % MB);
        let round_up = rest > MB / 2 || (rest == MB / 2 && whole % 2 == 1);
        let tenths = whole + u64::from(round_up);
        format!("{}.{} MB", tenths / 10, tenths % 10)
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
    fn sizes_in_megabytes_read_as_the_float_printer_would_write_them() {
        let megabyte = 1024 * 1024;
        // Every quarter megabyte is among them: 1.25 and 1.75 MB lie exactly halfway.
        let quarters = (4..160).map(|quarter| quarter * megabyte / 4);
        for bytes in (megabyte..40 * megabyte).step_by(9_973).chain(quarters) {
            let float = format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0));
            assert_eq!(size_text(bytes), float, "{bytes} bytes");
        }
        assert_eq!(size_text(megabyte - 1), "1024 KB");
    }

    #[test]
    fn a_too_small_photo_says_why_in_both_languages() {
        let small = RuleViolation::SideTooSmall {
            width: 120,
            height: 150,
        };
        let (what, next) = photo_problem(Locale::En, &small);
        assert_eq!(
            what,
            "This photo is too small (120 × 150 pixels) to show a whole person."
        );
        assert!(next.contains("at least 150 pixels"), "{next}");
        assert!(photo_problem(Locale::ZhCn, &small).0.contains("120 × 150"));
    }

    #[test]
    fn a_format_the_upstream_does_not_take_is_named_with_the_ones_it_does() {
        let successor = tryon_api::generation::Capabilities::successor(
            &tryon_api::generation::SuccessorModel::default_model(),
        );
        let accepted = Offer::from_capabilities(&successor);
        let (what, next) = format_problem(Locale::En, ImageFormat::Heic, &accepted);
        assert_eq!(what, "HEIC photos cannot be used for try-on here.");
        assert_eq!(next, "Please choose a JPEG, PNG, BMP or WEBP photo.");
        let (what, next) = format_problem(Locale::ZhCn, ImageFormat::Heic, &accepted);
        assert_eq!(what, "此处的试衣无法使用 HEIC 格式的照片。");
        assert_eq!(next, "请选择 JPEG、PNG、BMP 或 WEBP 格式的照片。");
    }

    #[test]
    fn the_estimate_counts_the_queue_and_never_goes_negative() {
        assert_eq!(estimate(Locale::En, 5, 0), "about 20 s left");
        assert_eq!(estimate(Locale::En, 5, 1), "about 45 s left");
        assert_eq!(estimate(Locale::En, 40, 0), "almost there");
        assert_eq!(estimate(Locale::ZhCn, 0, 0), "预计还需约 25 秒");
    }

    #[test]
    fn the_loader_repeats_the_button_words_of_this_module() {
        // The loader shows the button before any WebAssembly exists, so it carries its own
        // copy of these strings; this keeps the copy honest.
        let loader = include_str!("../www/loader.js");
        for locale in [Locale::En, Locale::ZhCn] {
            let texts = texts(locale);
            assert!(loader.contains(texts.try_it_on), "{locale:?}");
            assert!(loader.contains(texts.unavailable), "{locale:?}");
        }
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
