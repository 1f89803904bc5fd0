using System.Text.Json;
using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class ContractBalanceTests
{
    private static readonly DateTimeOffset InQ2 = new(2026, 5, 10, 12, 0, 0, TimeSpan.Zero);

    private static JsonElement Contract(string q2Usage, string q2Unused, string q2Overage = "0.00") => JsonSerializer.Deserialize<JsonElement>($$"""
        {
          "contractId": "acme-demo",
          "customerId": "acme",
          "quarters": [
            { "quarter": 1, "start": "2026-02-01T00:00:00+00:00", "end": "2026-05-01T00:00:00+00:00", "commitUsd": "100.00",
              "availableUsd": "100.00", "usageUsd": "7.00", "unusedUsd": "93.00", "overageUsd": "0.00" },
            { "quarter": 2, "start": "2026-05-01T00:00:00+00:00", "end": "2026-08-01T00:00:00+00:00", "commitUsd": "100.00",
              "availableUsd": "193.00", "usageUsd": "{{q2Usage}}", "unusedUsd": "{{q2Unused}}", "overageUsd": "{{q2Overage}}" }
          ]
        }
        """);

    [Fact]
    public void From_ContractAsTheApiReturnsIt_TheQuarterOfNowExactly()
    {
        var balance = ContractBalance.From(Contract("0.10", "192.90"), InQ2);

        Assert.Equal(new ContractBalance("acme-demo", 2, 100.00m, 193.00m, 0.10m, 192.90m, 0m), balance);
    }

    [Fact]
    public void From_NowOutsideTheTerm_Null() =>
        Assert.Null(ContractBalance.From(Contract("0.10", "192.90"), new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero)));

    [Fact]
    public void From_NotAContract_SaysSo()
    {
        var error = Assert.Throws<AdminApiException>(() => ContractBalance.From(JsonSerializer.Deserialize<JsonElement>("""{"title":"nope"}"""), InQ2));

        Assert.StartsWith("the contract is not what the simulator understands", error.Message);
    }

    [Fact]
    public void Describe_AfterAnEarlierReading_ShowsWhatWasUsedSince()
    {
        var before = ContractBalance.From(Contract("0.10", "192.90"), InQ2);
        var now = ContractBalance.From(Contract("0.13", "192.87"), InQ2)!;

        Assert.Equal("acme-demo Q2: commit 100.00, used 0.10, remaining 192.90 USD", before!.Describe(null));
        Assert.Equal("acme-demo Q2: commit 100.00, used 0.13 (+0.03), remaining 192.87 USD", now.Describe(before));
    }

    [Fact]
    public void Describe_Overage_ShowsIt() =>
        Assert.Equal(
            "acme-demo Q2: commit 100.00, used 200.00, remaining 0.00, overage 7.00 USD",
            ContractBalance.From(Contract("200.00", "0.00", "7.00"), InQ2)!.Describe(null));
}
