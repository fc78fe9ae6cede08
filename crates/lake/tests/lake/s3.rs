//! The S3 path against a real S3-compatible server (moto) on this machine.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use supermarket_lake::LakeStore;

use crate::support::{Harness, INSTALL_HINT, assert_lake_holds, purchases, read_lake, stop};

/// A moto S3 server on a free local port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server ({e}): {INSTALL_HINT}"));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        for _ in 0..150 {
            if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited with {status}: {INSTALL_HINT}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = moto.child.kill();
        panic!("moto_server did not listen on port {port} within 15 s");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs boto3 (installed with moto) against the server: creates the bucket
/// or downloads every object under a prefix into a folder.
fn boto3(endpoint: &str, script: &str, args: &[&str]) {
    let program = format!(
        "import sys, os, boto3\n\
         s3 = boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='test', \
         aws_secret_access_key='test', region_name='us-east-1')\n{script}"
    );
    let output = Command::new("python3")
        .arg("-c")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "boto3 failed: {}\n{INSTALL_HINT}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const CREATE_BUCKET: &str = "s3.create_bucket(Bucket=sys.argv[1])";
const DOWNLOAD: &str = "\
bucket, prefix, dest = sys.argv[1], sys.argv[2], sys.argv[3]
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix + '/'):
    for item in page.get('Contents', []):
        target = os.path.join(dest, item['Key'][len(prefix) + 1:])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        s3.download_file(bucket, item['Key'], target)
";

#[tokio::test]
async fn writes_the_lake_to_an_s3_bucket_under_a_prefix() {
    let moto = Moto::start();
    boto3(&moto.endpoint, CREATE_BUCKET, &["lake-test"]);
    let harness = Harness::new().await;
    let events = purchases(120, &["2025-05-26", "2025-05-27"]);
    harness.publish(&events).await;

    // Configured as AmazonS3Builder::from_env would be from
    // AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, AWS_REGION and the key pair.
    let builder = AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test");
    let lake = LakeStore::s3(builder, "s3://lake-test/warehouse/raw").unwrap();
    let (task, shutdown) = harness.spawn_sink_on(harness.config(1, 50), lake);
    harness.wait_for_done(120, Duration::from_secs(30)).await;
    stop(task, shutdown).await;

    let dest = harness.dir.join("downloaded");
    boto3(
        &moto.endpoint,
        DOWNLOAD,
        &["lake-test", "warehouse/raw", &dest.to_string_lossy()],
    );
    let summary = read_lake(&dest);
    assert_lake_holds(&summary, &events);
    let objects = harness
        .databases
        .analytics_count("SELECT sum(cardinality(objects))::bigint FROM lake_batches")
        .await;
    assert_eq!(
        summary.files, objects,
        "every recorded object is in the bucket, under the prefix"
    );
    harness.nats.cleanup().await;
}
