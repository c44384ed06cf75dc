//! `genesys-cloud-exporter healthcheck`: asks a running exporter's `/-/healthy`, for
//! container `HEALTHCHECK`s on images that have neither a shell nor curl (the exporter's
//! own image has only the binary).

use crate::cli::{Failure, HealthcheckArgs};

/// Succeeds when the URL answers 200; otherwise says what went wrong.
pub async fn run(args: &HealthcheckArgs) -> Result<(), Failure> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path)
            .map_err(|err| Failure::BadInput(format!("{what} {}: {err}", path.display())))
    };
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(args.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &args.ca_file {
        let pem = read(path, "--ca-file")?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|err| Failure::BadInput(format!("--ca-file {}: {err}", path.display())))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(path) = &args.client_cert_file {
        let pem = read(path, "--client-cert-file")?;
        let identity = reqwest::Identity::from_pem(&pem).map_err(|err| {
            Failure::BadInput(format!("--client-cert-file {}: {err}", path.display()))
        })?;
        builder = builder.identity(identity);
    }
    let client = builder
        .build()
        .map_err(|err| Failure::Runtime(format!("cannot build the HTTP client: {err}")))?;
    let response = client
        .get(&args.url)
        .send()
        .await
        .map_err(|err| Failure::Runtime(format!("{}: {}", args.url, error_chain(&err))))?;
    if response.status() == reqwest::StatusCode::OK {
        Ok(())
    } else {
        Err(Failure::Runtime(format!(
            "{}: answered {}",
            args.url,
            response.status()
        )))
    }
}

/// An error with its causes, so that "certificate not trusted" shows, not only "error
/// sending request".
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
