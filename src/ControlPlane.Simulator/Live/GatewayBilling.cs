using System.Globalization;
using System.Net;
using System.Text.Json;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// The money side of the simulated gateway: a list price for the dedicated deployment's model and a dollar commit
/// for its customer, so the usage it meters moves a contract's balance. Set up so that running <c>live</c> again
/// against the same server reuses what the first run made.
/// </summary>
/// <param name="billedContract">The contract the customer's usage is billed to; null when the simulator found none (usage is then pay-as-you-go).</param>
internal sealed class GatewayBilling(string? billedContract)
{
    public const string ContractId = "acme-demo";

    /// <summary>List price of the dedicated model per million tokens, when the server has none yet.</summary>
    public const decimal InputUsdPer1M = 3.00m;

    public const decimal OutputUsdPer1M = 15.00m;

    public const decimal QuarterlyCommitUsd = 100.00m;

    public const decimal DiscountPercent = 20m;

    public const int Quarters = 4;

    private ContractBalance? _last;

    /// <summary>
    /// Prices <paramref name="deployment"/>'s model (unless the server already has a price for it: an operator's price
    /// is not overwritten) and opens <see cref="ContractId"/> for its customer from today, or finds the contract the
    /// customer already has.
    /// </summary>
    /// <exception cref="AdminApiException">The server refused the price or the contract for another reason.</exception>
    public static async Task<GatewayBilling> SetUpAsync(AdminClient admin, MeteredDeployment deployment, DateTimeOffset now, TextWriter output, CancellationToken cancellationToken)
    {
        await PriceAsync(admin, deployment.Model, output, cancellationToken);

        var created = await admin.PostAsync(
            "admin/v1/contracts",
            new
            {
                contractId = ContractId,
                customerId = deployment.CustomerId,
                startDate = DateOnly.FromDateTime(now.UtcDateTime).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                quarters = Quarters,
                quarterlyCommitUsd = QuarterlyCommitUsd,
                discountPercent = DiscountPercent,
            },
            cancellationToken,
            accepted: [HttpStatusCode.Created, HttpStatusCode.Conflict]);
        if (created.ValueKind == JsonValueKind.Object && created.TryGetProperty("contractId", out _))
        {
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"[billing] contract {ContractId} for {deployment.CustomerId}: {QuarterlyCommitUsd:0.00} USD a quarter for {Quarters} quarters, {DiscountPercent:0}% off list prices"));
            return new GatewayBilling(ContractId);
        }

        // 409: this contract exists already (an earlier run, another day), or the customer has another one.
        var existing = await admin.FindJsonAsync($"admin/v1/contracts/{ContractId}", cancellationToken);
        if (existing is { } contract
            && contract.TryGetProperty("customerId", out var customer)
            && customer.GetString() == deployment.CustomerId
            && ContractBalance.From(contract, now) is not null)
        {
            output.WriteLine($"[billing] reusing contract {ContractId} of {deployment.CustomerId} (made by an earlier run)");
            return new GatewayBilling(ContractId);
        }

        var customerToken = (await admin.PostAsync("admin/v1/tokens", new { role = "customer", subject = deployment.CustomerId }, cancellationToken))
            .GetProperty("token").GetString()!;
        foreach (var other in (await admin.GetJsonAsync("v1/contracts", cancellationToken, customerToken)).EnumerateArray())
        {
            if (ContractBalance.From(other, now) is { } balance)
            {
                output.WriteLine($"[billing] {deployment.CustomerId} already has contract {balance.ContractId}: its usage is billed to it");
                return new GatewayBilling(balance.ContractId);
            }
        }

        output.WriteLine($"[billing] {deployment.CustomerId} has a contract that does not cover today: its usage is billed pay-as-you-go");
        return new GatewayBilling(null);
    }

    /// <summary>The contract's balance now, with the change since the last call; null without a contract.</summary>
    public async Task<string?> DescribeAsync(AdminClient admin, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (billedContract is null)
        {
            return null;
        }

        var balance = ContractBalance.From(await admin.GetJsonAsync($"admin/v1/contracts/{billedContract}", cancellationToken), now);
        if (balance is null)
        {
            return $"contract {billedContract} does not cover today";
        }

        var text = balance.Describe(_last);
        _last = balance;
        return text;
    }

    private static async Task PriceAsync(AdminClient admin, string model, TextWriter output, CancellationToken cancellationToken)
    {
        foreach (var price in (await admin.GetJsonAsync("admin/v1/prices", cancellationToken)).EnumerateArray())
        {
            if (price.GetProperty("model").GetString() == model)
            {
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"[billing] {model} keeps its list price: {price.GetProperty("inputUsdPer1M").GetDecimal():0.00##} USD per 1M input tokens, {price.GetProperty("outputUsdPer1M").GetDecimal():0.00##} per 1M output"));
                return;
            }
        }

        await admin.PutAsync($"admin/v1/prices/{model}", new { inputUsdPer1M = InputUsdPer1M, outputUsdPer1M = OutputUsdPer1M }, cancellationToken);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"[billing] list price of {model}: {InputUsdPer1M:0.00} USD per 1M input tokens, {OutputUsdPer1M:0.00} per 1M output"));
    }
}
