using ControlPlane.Domain.Webhooks;
using ControlPlane.Grains.Webhooks;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Webhooks;

/// <summary>What the golden payloads of Webhooks/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class WebhooksGoldenPayloads
{
    public static WebhookState Webhooks() => new()
    {
        Webhooks = new(StringComparer.Ordinal)
        {
            ["wh-golden"] = new WebhookEndpoint("wh-golden", "https://hooks.example/golden?x=1", ["commit.threshold", "invoice.issued"],
                "whsec_Z29sZGVuLXNlY3JldA", At("2026-11-01T08:00:00.5+00:00")),
        },
        SecretGeneratedBy = new(StringComparer.Ordinal) { ["wh-golden"] = "idem-webhook-golden" },
        Deliveries =
        [
            new WebhookDelivery("evt-golden-1", "wh-golden", "invoice.issued", "{\"invoiceId\":\"c-golden-q2\",\"totalCents\":12345}",
                At("2026-12-01T00:00:00+00:00"), WebhookDeliveryState.GivenUp, 12,
                At("2026-12-01T06:00:00+00:00"), At("2026-12-01T05:00:00.25+00:00"), 503,
                "503 Service Unavailable", At("2026-12-01T07:00:00+00:00")),
            new WebhookDelivery("evt-golden-2", "wh-golden", "commit.threshold", "{\"percent\":80}",
                At("2026-12-01T01:00:00+00:00"), WebhookDeliveryState.Failing, 2,
                At("2026-12-01T01:02:00+00:00"), At("2026-12-01T01:01:00+00:00"), 500,
                "500 Internal Server Error", At("2026-12-01T01:03:00+00:00")),
        ],
        RecentEventIds = ["evt-golden-1", "evt-golden-2"],
    };
}
