use supermarket_testkit::TestDatabases;

#[tokio::test]
async fn fresh_databases_are_migrated_and_independent() {
    let a = TestDatabases::new().await;
    let b = TestDatabases::new().await;
    assert_ne!(a.oltp_url, b.oltp_url);
    assert_eq!(a.oltp_count("SELECT count(*) FROM branches").await, 0);
    assert_eq!(
        a.analytics_count("SELECT count(*) FROM processed_events")
            .await,
        0
    );
    a.oltp()
        .await
        .batch_execute("INSERT INTO branches VALUES ('SMKT001', 'Central')")
        .await
        .unwrap();
    assert_eq!(a.oltp_count("SELECT count(*) FROM branches").await, 1);
    assert_eq!(b.oltp_count("SELECT count(*) FROM branches").await, 0);
}
