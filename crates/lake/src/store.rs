//! Where the lake's objects go: a local folder or an S3-compatible bucket,
//! both behind [`object_store::ObjectStore`], chosen by `LAKE_URL`.

use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// An object store plus the prefix under which the lake lives.
#[derive(Clone, Debug)]
pub struct LakeStore {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// `LAKE_URL` as given, for logs.
    url: String,
}

impl LakeStore {
    /// Opens the lake named by `LAKE_URL`: `s3://bucket/prefix` (or `s3a://`)
    /// with endpoint, region and credentials from the standard `AWS_*`
    /// variables; `file:///absolute/path` or a plain path for a local folder.
    pub fn open(url: &str) -> anyhow::Result<LakeStore> {
        if url.starts_with("s3://") || url.starts_with("s3a://") {
            LakeStore::s3(AmazonS3Builder::from_env(), url)
        } else if let Some(path) = url.strip_prefix("file://") {
            LakeStore::local(path, url)
        } else if url.contains("://") {
            bail!(
                "LAKE_URL {url:?} is not supported: use s3://bucket/prefix, file:///absolute/path or a folder path"
            )
        } else {
            LakeStore::local(url, url)
        }
    }

    /// An S3 lake at `url` (`s3://bucket/prefix`), configured by `builder`
    /// (endpoint, credentials); the URL decides the bucket and prefix.
    pub fn s3(builder: AmazonS3Builder, url: &str) -> anyhow::Result<LakeStore> {
        let without_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
        let (bucket, prefix) = without_scheme
            .split_once('/')
            .unwrap_or((without_scheme, ""));
        if bucket.is_empty() {
            bail!("LAKE_URL {url:?} names no bucket: use s3://bucket/prefix");
        }
        // object_store's HTTP client is built without a TLS crypto provider
        // of its own (see the workspace Cargo.toml): use ring. Installing
        // twice is harmless, so the result is ignored.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = builder.with_bucket_name(bucket).build().with_context(|| {
            format!("cannot set up S3 for LAKE_URL {url:?} (see the AWS_* variables)")
        })?;
        let root = Path::parse(prefix.trim_matches('/'))
            .with_context(|| format!("LAKE_URL {url:?} has an invalid prefix"))?;
        Ok(LakeStore {
            store: Arc::new(store),
            root,
            url: url.to_owned(),
        })
    }

    /// A lake in a local folder, created if missing. Objects are written to
    /// a temporary file and renamed, so each appears whole or not at all,
    /// and synced before the batch is marked done: a power cut cannot leave
    /// a done batch with a torn file.
    pub fn local(folder: &str, url: &str) -> anyhow::Result<LakeStore> {
        if folder.is_empty() {
            bail!(
                "LAKE_URL is empty: give a folder path, file:///absolute/path or s3://bucket/prefix"
            );
        }
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the lake folder {folder:?} (LAKE_URL)"))?;
        let store = LocalFileSystem::new_with_prefix(folder)
            .with_context(|| format!("cannot open the lake folder {folder:?} (LAKE_URL)"))?
            .with_fsync(true);
        Ok(LakeStore {
            store: Arc::new(store),
            root: Path::default(),
            url: url.to_owned(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The full object path of `relative` (a path under the lake root).
    pub fn full_path(&self, relative: &Path) -> Path {
        Path::from_iter(self.root.parts().chain(relative.parts()))
    }

    /// Writes one whole object, replacing any object of that name.
    pub async fn put(&self, relative: &Path, bytes: Bytes) -> anyhow::Result<()> {
        let path = self.full_path(relative);
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .with_context(|| format!("cannot write {path} to the lake at {}", self.url))?;
        Ok(())
    }

    /// Deletes one object; a missing object is not an error.
    pub async fn delete(&self, relative: &Path) -> anyhow::Result<()> {
        let path = self.full_path(relative);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error)
                .with_context(|| format!("cannot delete {path} from the lake at {}", self.url)),
        }
    }

    /// The object store itself, e.g. to list or read the lake.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefix of the lake inside the object store.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::LakeStore;

    #[test]
    fn refuses_unknown_schemes_and_bucketless_urls() {
        let error = LakeStore::open("gs://bucket/x").unwrap_err().to_string();
        assert!(error.contains("LAKE_URL"), "{error}");
        let error = LakeStore::s3(object_store::aws::AmazonS3Builder::new(), "s3:///prefix")
            .unwrap_err()
            .to_string();
        assert!(error.contains("bucket"), "{error}");
    }

    #[test]
    fn keeps_the_s3_prefix_in_object_paths() {
        let builder = object_store::aws::AmazonS3Builder::new().with_region("us-east-1");
        let lake = LakeStore::s3(builder, "s3://bucket/some/prefix/").unwrap();
        let path = lake.full_path(&object_store::path::Path::from("purchases/x.parquet"));
        assert_eq!(path.as_ref(), "some/prefix/purchases/x.parquet");
    }
}
