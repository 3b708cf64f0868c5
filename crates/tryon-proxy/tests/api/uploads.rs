//! Uploads and hosted files: accepted formats, each refusal with its code and status, metadata removal in every format, serving.

use tryon_api::proxy::FILES_PATH;

use tryon_api::rules::check_image;

use crate::helpers::{
    TestApp, error_body, fake_png, heic_with_metadata, noise_jpeg, noise_png, noise_webp,
    png_chunk, spawn_app, with_exif, with_iptc, with_png_chunks, with_webp_metadata,
};

/// A GPS position and a camera, as EXIF, XMP, IPTC and PNG text write them: what must not
/// leave the shopper's phone through the shop.
const GPS: &[u8] = b"GPS-48.8584N-2.2945E";
const CAMERA: &[u8] = b"Canon EOS";

#[tokio::test]
async fn a_jpeg_and_a_png_are_accepted_and_served_back() {
    let app = spawn_app().await;
    for (bytes, content_type, format) in [
        (noise_jpeg(300, 400, 1), "image/jpeg", "jpeg"),
        (noise_png(200, 160, 2), "image/png", "png"),
    ] {
        let uploaded = app.upload_ok(bytes.clone(), content_type).await;
        assert_eq!(uploaded.format, format);
        assert_eq!(uploaded.bytes, bytes.len() as u64);
        assert_eq!(uploaded.id.len(), 32);
        assert!(!uploaded.request_id.is_empty());
        assert_eq!(
            uploaded.url,
            app.url(&format!("{FILES_PATH}/{}", uploaded.id))
        );

        let served = app.http.get(&uploaded.url).send().await.unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(
            served.headers()["content-type"],
            format!("image/{format}").as_str()
        );
        assert_eq!(served.headers()["cache-control"], "private, max-age=86400");
        assert_eq!(served.bytes().await.unwrap(), bytes);
    }
    let first = app.upload_ok(noise_png(200, 160, 3), "image/png").await;
    let second = app.upload_ok(noise_png(200, 160, 3), "image/png").await;
    assert_ne!(first.id, second.id, "every upload gets a fresh id");
    assert_eq!((first.width, first.height), (200, 160));
}

#[tokio::test]
async fn a_text_file_is_not_accepted() {
    let app = spawn_app().await;
    let response = app
        .upload(b"hello, not a photo".repeat(1000), "text/plain")
        .await;
    assert_eq!(response.status(), 415);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.PhotoNotAccepted");
    assert!(
        body.message.contains("not a JPEG, PNG, BMP, HEIC or WEBP"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn a_photo_with_too_small_sides_is_out_of_bounds_and_says_why() {
    let app = spawn_app().await;
    let response = app.upload(noise_png(100, 100, 4), "image/png").await;
    assert_eq!(response.status(), 422);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.PhotoOutOfBounds");
    assert!(body.message.contains("100x100 px"), "{}", body.message);
}

#[tokio::test]
async fn a_file_over_5_mb_is_out_of_bounds_and_over_6_mb_is_too_large() {
    let app = spawn_app().await;
    let response = app
        .upload(fake_png(1000, 1000, 5 * 1024 * 1024 + 1), "image/png")
        .await;
    assert_eq!(response.status(), 422);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.PhotoOutOfBounds");
    assert!(body.message.contains("at most 5 MB"), "{}", body.message);

    let response = app
        .upload(fake_png(1000, 1000, 7 * 1024 * 1024), "image/png")
        .await;
    assert_eq!(response.status(), 413);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.PayloadTooLarge");
}

#[tokio::test]
async fn exif_is_removed_from_jpeg_uploads_and_the_image_still_decodes() {
    let app = spawn_app().await;
    let original = noise_jpeg(320, 240, 5);
    let marker = b"GPSLatitude=52.5200N;GPSLongitude=13.4050E";
    let tagged = with_exif(&original, marker);
    let uploaded = app.upload_ok(tagged, "image/jpeg").await;
    assert_eq!(
        uploaded.bytes,
        original.len() as u64,
        "only the APP1 segment is gone"
    );

    let stored = app
        .http
        .get(&uploaded.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), original.as_slice());
    assert!(!stored.windows(marker.len()).any(|w| w == marker));
    assert!(!stored.windows(6).any(|w| w == b"Exif\0\0"));
    let decoded = image::load_from_memory(&stored).expect("still a valid JPEG");
    assert_eq!((decoded.width(), decoded.height()), (320, 240));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An EXIF block (TIFF header, then the tags' text) naming the position and the camera.
fn exif_block() -> Vec<u8> {
    [b"MM\0*\0\0\0\x08".as_slice(), GPS, b"\0", CAMERA, b"\0"].concat()
}

/// An XMP packet naming the position and the camera.
fn xmp_packet() -> Vec<u8> {
    [
        b"<x:xmpmeta><exif:GPSLatitude>".as_slice(),
        GPS,
        b"</exif:GPSLatitude><tiff:Model>",
        CAMERA,
        b"</tiff:Model></x:xmpmeta>",
    ]
    .concat()
}

/// Uploads `tagged` and fetches the stored file back from the URL the proxy answered.
async fn upload_and_fetch(app: &TestApp, tagged: Vec<u8>, content_type: &str) -> Vec<u8> {
    let uploaded = app.upload_ok(tagged, content_type).await;
    let served = app.http.get(&uploaded.url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    let stored = served.bytes().await.unwrap().to_vec();
    assert_eq!(
        uploaded.bytes,
        stored.len() as u64,
        "the answer describes the stored file"
    );
    stored
}

#[tokio::test]
async fn gps_and_camera_are_removed_from_every_format_and_the_rules_still_accept_it() {
    let app = spawn_app().await;
    let jpeg = noise_jpeg(320, 240, 6);
    let png = noise_png(200, 160, 7);
    let webp = noise_webp(180, 150, 8);
    let cases = [
        (
            with_iptc(&with_exif(&jpeg, &exif_block()), &[GPS, CAMERA].concat()),
            "image/jpeg",
        ),
        (
            with_png_chunks(
                &png,
                &[
                    png_chunk(b"eXIf", &exif_block()),
                    png_chunk(b"tEXt", &[b"Model\0".as_slice(), CAMERA].concat()),
                    png_chunk(
                        b"iTXt",
                        &[b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), &xmp_packet()].concat(),
                    ),
                ],
            ),
            "image/png",
        ),
        (
            with_webp_metadata(
                &webp,
                180,
                150,
                &[b"Exif\0\0".as_slice(), &exif_block()].concat(),
                &xmp_packet(),
            ),
            "image/webp",
        ),
        (
            heic_with_metadata(
                3024,
                4032,
                &[&[0, 0, 0, 6][..], b"Exif\0\0", &exif_block()].concat(),
                &xmp_packet(),
            ),
            "image/heic",
        ),
    ];
    for (tagged, content_type) in cases {
        assert!(contains(&tagged, GPS) && contains(&tagged, CAMERA));
        let before = check_image(&tagged).expect("the tagged file meets the rules");
        let stored = upload_and_fetch(&app, tagged.clone(), content_type).await;
        assert!(!contains(&stored, GPS), "{content_type} keeps the position");
        assert!(
            !contains(&stored, CAMERA),
            "{content_type} keeps the camera"
        );
        let after = check_image(&stored).expect("the stored file still meets the rules");
        assert_eq!(
            (after.format, after.width, after.height),
            (before.format, before.width, before.height),
            "{content_type}"
        );
        if content_type == "image/heic" {
            // HEIC metadata is zeroed in place: same length, no offset moved.
            assert_eq!(stored.len(), tagged.len());
        } else {
            // The pixels are untouched, so the image decoders still read the same picture.
            let decoded = image::load_from_memory(&stored).expect("still decodes");
            let original = image::load_from_memory(&tagged).expect("decodes");
            assert_eq!(decoded.to_rgb8(), original.to_rgb8(), "{content_type}");
        }
    }
    // The same files without metadata are stored byte for byte as they came.
    for (clean, content_type) in [
        (jpeg, "image/jpeg"),
        (png, "image/png"),
        (webp, "image/webp"),
    ] {
        assert_eq!(
            upload_and_fetch(&app, clean.clone(), content_type).await,
            clean
        );
    }
}

#[tokio::test]
async fn a_png_whose_chunks_are_cut_short_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let png = noise_png(200, 160, 9);
    let response = app
        .upload(png[..png.len() - 20].to_vec(), "image/png")
        .await;
    assert_eq!(response.status(), 415);
    let body = error_body(response).await;
    assert_eq!(body.code, "Proxy.PhotoNotAccepted");
    assert!(
        body.message.contains("png structure could not be read"),
        "{}",
        body.message
    );
}

#[tokio::test]
async fn unknown_and_malformed_file_ids_answer_404_in_the_error_shape() {
    let app = spawn_app().await;
    for id in [
        "0123456789abcdef0123456789abcdef",
        "..%2F..%2Fetc%2Fpasswd",
        "nope",
    ] {
        let response = app
            .http
            .get(app.url(&format!("{FILES_PATH}/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{id}");
        assert_eq!(error_body(response).await.code, "Proxy.FileNotFound");
    }
}
