//! Shared test fixtures: a populated sample of every message type.
#![allow(dead_code)]

use std::fmt::Debug;
use std::path::PathBuf;

use sagaflow_events::Contract;
use sagaflow_events::messages::*;
use uuid::Uuid;

/// Something done with every sample.
pub trait Visit {
    fn visit<T: Contract + PartialEq + Debug + Clone>(&mut self, msg: T);
}

/// `events/schemas/` on disk.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn item(sku: &str, quantity: i32, unit_price_minor: i64) -> CheckoutItem {
    CheckoutItem {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

fn line(sku: &str, quantity: i32) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        quantity,
    }
}

/// Calls `v` once per message type with a populated instance (every
/// optional field set, so round trips exercise unions).
pub fn for_each_sample(v: &mut impl Visit) {
    let saga_id = id(1);
    let items = vec![item("SKU-1", 2, 1999), item("SKU-ü", 1, -5)];
    let lines = vec![line("SKU-1", 2), line("SKU-ü", 1)];
    v.visit(InitiateCheckout {
        checkout_id: saga_id,
        user_id: "user-7".into(),
        cart_id: id(2),
        items: lines.clone(),
        currency: "EUR".into(),
        payment_method: "card".into(),
        customer_email: "a@example.com".into(),
        discount_code: Some("SPRING10".into()),
        shipping_country: Some("DE".into()),
    });
    v.visit(InitiateGeneration {
        generation_id: saga_id,
        user_id: "user-7".into(),
        kind: DocumentKind::CoverLetter,
        cv_text: "Rust engineer".into(),
        job_description: "We need Rust".into(),
        template: Some("classic".into()),
        token_budget: 8000,
    });
    v.visit(EraseUserData {
        user_id: "user-7".into(),
        reason: "account closed".into(),
    });
    v.visit(CancelSaga {
        saga_id,
        reason: "changed my mind".into(),
    });
    v.visit(SagaProgressed {
        saga_id,
        definition: "checkout".into(),
        definition_version: 3,
        seq: 42,
        status: "running".into(),
        step: Some("reserve_inventory".into()),
        kind: "step_completed".into(),
        detail: String::new(),
        at_ms: 1_717_171_717_171,
        entries: vec![
            ProgressEntry {
                seq: 41,
                kind: ProgressKind::StepCompleted,
                step: Some("reserve_inventory".into()),
                phase: Some(StepPhase::Compensation),
                attempt: Some(2),
                message_type: Some("InventoryReserved".into()),
                reason: Some("a reason".into()),
                status: SagaStatus::Running,
                at_ms: 1_717_171_717_170,
            },
            ProgressEntry {
                seq: 42,
                kind: ProgressKind::CommandSent,
                step: None,
                phase: None,
                attempt: None,
                message_type: None,
                reason: None,
                status: SagaStatus::CompensationFailed,
                at_ms: 1_717_171_717_171,
            },
        ],
        result: Some(SagaResult {
            name: "order_id".into(),
            id: id(9),
        }),
    });
    v.visit(SagaFinished {
        saga_id,
        definition: "checkout".into(),
        definition_version: 3,
        seq: 43,
        status: SagaStatus::Compensated,
        reason: Some("card declined".into()),
        result: Some(SagaResult {
            name: "order_id".into(),
            id: id(9),
        }),
        user_id: Some("user-7".into()),
        started_at_ms: 1_717_171_717_000,
        finished_at_ms: 1_717_171_717_171,
    });
    v.visit(ReserveInventory {
        saga_id,
        items: vec![StockItem {
            sku: "SKU-1".into(),
            quantity: 2,
        }],
    });
    v.visit(ReleaseInventory {
        saga_id,
        reason: "payment failed".into(),
    });
    v.visit(InventoryReserved {
        saga_id,
        reservation_id: id(3),
    });
    v.visit(InventoryReservationFailed {
        saga_id,
        reason: "out of stock".into(),
        sku: Some("SKU-1".into()),
    });
    v.visit(InventoryReleased { saga_id });
    v.visit(PriceOrder {
        saga_id,
        items: lines.clone(),
        currency: "EUR".into(),
        discount_code: Some("SPRING10".into()),
        shipping_country: Some("FR".into()),
    });
    v.visit(OrderPriced {
        saga_id,
        subtotal_minor: 3993,
        discount_minor: 399,
        tax_minor: 683,
        total_minor: 4277,
        currency: "EUR".into(),
        lines: items.clone(),
    });
    v.visit(OrderPricingFailed {
        saga_id,
        reason: "bad currency".into(),
    });
    v.visit(ProcessPayment {
        saga_id,
        customer_id: "user-7".into(),
        amount_minor: i64::MAX,
        currency: "EUR".into(),
        payment_method: "card".into(),
    });
    v.visit(CompensatePayment {
        saga_id,
        reason: "order failed".into(),
    });
    v.visit(PaymentProcessed {
        saga_id,
        payment_id: id(4),
        amount_minor: 4277,
        currency: "EUR".into(),
    });
    v.visit(PaymentFailed {
        saga_id,
        reason: "declined".into(),
    });
    v.visit(PaymentRefunded {
        saga_id,
        payment_id: Some(id(4)),
        amount_minor: 4277,
    });
    v.visit(CreateOrder {
        saga_id,
        customer_id: "user-7".into(),
        items: items.clone(),
        total_minor: 4277,
        currency: "EUR".into(),
        payment_id: id(4),
    });
    v.visit(CancelOrder {
        saga_id,
        reason: "timeout".into(),
    });
    v.visit(OrderCreated {
        saga_id,
        order_id: id(5),
    });
    v.visit(OrderCreationFailed {
        saga_id,
        reason: "db down".into(),
    });
    v.visit(OrderCancelled { saga_id });
    v.visit(InitiateOrderCancellation {
        cancellation_id: id(5),
        order_id: id(6),
        user_id: "user-7".into(),
        customer_email: "u7@example.test".into(),
        reason: "changed my mind".into(),
    });
    v.visit(InitiateRefund {
        refund_id: id(7),
        order_id: id(6),
        user_id: "user-7".into(),
        customer_email: "u7@example.test".into(),
        lines: lines.clone(),
        reason: "arrived damaged".into(),
    });
    v.visit(CancelPlacedOrder {
        saga_id,
        order_id: id(6),
        customer_id: "user-7".into(),
        reason: "changed my mind".into(),
    });
    v.visit(PlacedOrderCancelled {
        saga_id,
        order_id: id(6),
        checkout_saga_id: id(8),
        payment_id: id(4),
        refund_minor: 3993,
        currency: "EUR".into(),
        items: items.clone(),
    });
    v.visit(OrderCancellationRefused {
        saga_id,
        order_id: id(6),
        reason: "order already cancelled".into(),
    });
    v.visit(ReinstateOrder {
        saga_id,
        reason: "refund failed".into(),
    });
    v.visit(OrderReinstated { saga_id });
    v.visit(ReserveRefund {
        saga_id,
        order_id: id(6),
        customer_id: "user-7".into(),
        lines: lines.clone(),
        reason: "arrived damaged".into(),
    });
    v.visit(RefundReserved {
        saga_id,
        order_id: id(6),
        payment_id: id(4),
        amount_minor: 1999,
        currency: "EUR".into(),
        items: items.clone(),
    });
    v.visit(RefundRefused {
        saga_id,
        order_id: id(6),
        reason: "only 2 of SKU-1 were bought".into(),
    });
    v.visit(ReleaseRefund {
        saga_id,
        reason: "payment refund failed".into(),
    });
    v.visit(RefundReleased { saga_id });
    v.visit(ConfirmRefund {
        saga_id,
        reason: "payment refunded".into(),
    });
    v.visit(RefundConfirmed {
        saga_id,
        order_id: id(6),
    });
    v.visit(RefundPayment {
        saga_id,
        payment_id: id(4),
        amount_minor: 1999,
        currency: "EUR".into(),
        reason: "arrived damaged".into(),
    });
    v.visit(PaymentRefundIssued {
        saga_id,
        payment_id: id(4),
        refund_id: id(9),
        amount_minor: 1999,
        currency: "EUR".into(),
    });
    v.visit(PaymentRefundFailed {
        saga_id,
        reason: "refund exceeds what is left".into(),
    });
    v.visit(RestockOrder {
        saga_id,
        checkout_saga_id: id(8),
        reason: "order cancelled".into(),
    });
    v.visit(InventoryRestocked {
        saga_id,
        items: vec![StockItem {
            sku: "SKU-1".into(),
            quantity: 2,
        }],
    });
    v.visit(ClearCart {
        saga_id,
        cart_id: id(2),
        user_id: "user-7".into(),
        items: lines.clone(),
    });
    v.visit(CartCleared {
        saga_id,
        cart_id: id(2),
    });
    v.visit(AddCartItem {
        saga_id,
        cart_id: id(2),
        user_id: "user-7".into(),
        sku: "SKU-1".into(),
        quantity: 2,
    });
    v.visit(RemoveCartItem {
        saga_id,
        cart_id: id(2),
        user_id: "user-7".into(),
        sku: "SKU-1".into(),
        reason: "plan compensating".into(),
    });
    v.visit(CartItemAdded {
        saga_id,
        cart_id: id(2),
        sku: "SKU-1".into(),
        quantity_added: 2,
        line_quantity: 3,
    });
    v.visit(CartItemAddFailed {
        saga_id,
        cart_id: id(2),
        sku: "SKU-1".into(),
        reason: "cart belongs to another user".into(),
    });
    v.visit(CartItemRemoved {
        saga_id,
        cart_id: id(2),
        sku: "SKU-1".into(),
        quantity_removed: 2,
    });
    v.visit(PlanEventRecorded {
        plan_id: id(10),
        tenant_id: "acme".into(),
        user_id: "user-7".into(),
        seq: 3,
        kind: "command_emitted".into(),
        detail: r#"{"message_type":"AddCartItem"}"#.into(),
        at_ms: 1_717_171_717_171,
    });
    v.visit(SendNotification {
        notification_id: id(6),
        saga_id: Some(saga_id),
        channel: Channel::Sms,
        recipient: "+4912345".into(),
        subject: "Order".into(),
        body: "Thanks!".into(),
        user_id: Some("user-7".into()),
    });
    v.visit(NotificationSent {
        notification_id: id(6),
        saga_id: Some(saga_id),
        channel: Channel::Push,
    });
    v.visit(NotificationFailed {
        notification_id: id(6),
        saga_id: Some(saga_id),
        reason: "bounced".into(),
    });
    v.visit(AnalyseJob {
        saga_id,
        job_description: "We need Rust".into(),
    });
    v.visit(CompileProfile {
        saga_id,
        user_id: "user-7".into(),
        cv_text: "Rust engineer".into(),
        skills: strs(&["rust", "kafka"]),
        keywords: strs(&["saga"]),
    });
    v.visit(GenerateDocument {
        saga_id,
        kind: DocumentKind::Resume,
        profile_summary: "Strong Rust".into(),
        emphasis: strs(&["rust"]),
        keywords: strs(&["saga", "kafka"]),
        template: Some("modern".into()),
        token_budget: 4000,
        attempt: 2,
        feedback: Some("mention kafka".into()),
    });
    v.visit(ValidateDocument {
        saga_id,
        document_id: id(7),
        content: "Dear hiring manager".into(),
        keywords: strs(&["kafka"]),
    });
    v.visit(ExportDocument {
        saga_id,
        document_id: id(7),
        formats: strs(&["pdf", "docx"]),
    });
    v.visit(ReleaseTokenBudget {
        saga_id,
        user_id: "user-7".into(),
        tokens: 1234,
        reason: "export failed".into(),
    });
    v.visit(VoidDraft {
        saga_id,
        document_id: Some(id(7)),
        reason: "export failed".into(),
    });
    v.visit(JobAnalysed {
        saga_id,
        skills: strs(&["rust"]),
        keywords: strs(&["kafka", "avro"]),
        seniority: "senior".into(),
    });
    v.visit(JobAnalysisFailed {
        saga_id,
        reason: "empty description".into(),
    });
    v.visit(ProfileCompiled {
        saga_id,
        match_percent: 87,
        emphasis: strs(&["event sourcing"]),
        profile_summary: "Strong Rust".into(),
    });
    v.visit(DocumentGenerated {
        saga_id,
        document_id: id(7),
        provider: "offline-template".into(),
        tokens_used: 0,
        offline: true,
        content: "Dear hiring manager".into(),
    });
    v.visit(GenerationFailed {
        saga_id,
        reason: "provider timeout".into(),
        tokens_used: 12,
    });
    v.visit(DocumentValidated {
        saga_id,
        document_id: id(7),
        keyword_coverage: 90,
        ats_score: 75,
    });
    v.visit(DocumentRejected {
        saga_id,
        document_id: id(7),
        reasons: strs(&["missing keyword kafka", "too long"]),
        feedback: "mention kafka".into(),
    });
    v.visit(DocumentExported {
        saga_id,
        document_id: id(7),
        formats: strs(&["pdf"]),
        size_bytes: 20_480,
    });
    v.visit(ExportFailed {
        saga_id,
        document_id: id(7),
        reason: "renderer crashed".into(),
    });
    v.visit(TokenBudgetReleased {
        saga_id,
        tokens_released: 1234,
    });
    v.visit(DraftVoided {
        saga_id,
        document_id: Some(id(7)),
    });
    v.visit(ApplicationStatusChanged {
        application_id: id(8),
        tenant_id: "acme".into(),
        user_id: "user-7".into(),
        from_status: Some("applied".into()),
        to_status: "interviewing".into(),
        company: "Ferrous Systems".into(),
        role: "Rust engineer".into(),
        changed_at_ms: 1_717_171_717_171,
    });
    v.visit(AttachDocumentToApplication {
        saga_id,
        tenant_id: Some("acme".into()),
        user_id: "user-7".into(),
        application_id: id(8),
        generation_id: id(9),
    });
    v.visit(DocumentAttached {
        saga_id,
        application_id: id(8),
        generation_id: id(9),
    });
    v.visit(DocumentAttachFailed {
        saga_id,
        application_id: id(8),
        generation_id: id(9),
        reason: "application not found".into(),
    });
    v.visit(DetachDocumentFromApplication {
        saga_id,
        tenant_id: Some("acme".into()),
        user_id: "user-7".into(),
        application_id: id(8),
        generation_id: id(9),
        reason: "plan cancelled".into(),
    });
    v.visit(DocumentDetached {
        saga_id,
        application_id: id(8),
        generation_id: id(9),
    });
    v.visit(ProductChanged {
        sku: "MUG-BLUE".into(),
        name: "Blue mug — ü".into(),
        description: "Stoneware, 350 ml".into(),
        active: true,
        prices: vec![
            ProductPrice {
                currency: "EUR".into(),
                amount_minor: 1250,
            },
            ProductPrice {
                currency: "USD".into(),
                amount_minor: 1390,
            },
        ],
        version: 3,
        at_ms: 1_700_000_000_000,
    });
    v.visit(UserErasureRequested {
        erasure_id: id(9),
        user_id: "user-7".into(),
        requested_at_ms: 1_700_000_000_000,
    });
}

/// The message types [`for_each_sample`] covers, in order.
pub fn sampled_types() -> Vec<&'static str> {
    struct Names(Vec<&'static str>);
    impl Visit for Names {
        fn visit<T: Contract + PartialEq + Debug + Clone>(&mut self, _: T) {
            self.0.push(T::MESSAGE_TYPE);
        }
    }
    let mut names = Names(Vec::new());
    for_each_sample(&mut names);
    names.0
}
