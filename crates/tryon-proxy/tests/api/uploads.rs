//! Uploads and hosted files: accepted formats, each refusal with its code and status, EXIF removal, serving.

use tryon_api::proxy::FILES_PATH;

use crate::helpers::{error_body, fake_png, noise_jpeg, noise_png, spawn_app, with_exif};

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
