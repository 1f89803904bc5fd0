using ControlPlane.Contracts;
using ControlPlane.Contracts.Commits;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using Orleans.Concurrency;

namespace ControlPlane.Grains.Metering;

/// <summary>
/// Prices a batch at the list rates in force at each event's time, routes each event to its ledger (the
/// customer's contract covering the event, or pay-as-you-go) and day, and waits for every bucket to make
/// its share durable. A batch with an unknown model counts nothing. The prices come from this silo's
/// <see cref="PriceListCache"/>, which is exact (see there): no call to the price list per batch.
/// </summary>
// Reentrant: the worker keeps no state and mostly waits on buckets. Non-reentrant, a silo would hold at
// most one batch per core in flight, and a bucket would never see enough waiting batches to commit them
// together.
[StatelessWorker]
[Reentrant]
public sealed class UsageIngestGrain(PriceListCache priceList) : Grain, IUsageIngestGrain
{
    public async Task<IngestResult> IngestAsync(UsageBatch batch)
    {
        var prices = await priceList.GetAsync();
        var errors = new Dictionary<string, string[]>();
        for (var i = 0; i < batch.Events.Count; i++)
        {
            if (!prices.Knows(batch.Events[i].Model))
            {
                errors[$"events[{i}]"] = [$"eventId '{batch.Events[i].EventId}': unknown model '{batch.Events[i].Model}' (set its price with PUT /admin/v1/prices/{{model}})."];
            }
        }

        if (errors.Count > 0)
        {
            return new IngestResult(0, 0, errors);
        }

        var customers = batch.Events.Select(e => e.CustomerId).Distinct(StringComparer.Ordinal).ToArray();
        var terms = await Task.WhenAll(customers.Select(c => GrainFactory.GetGrain<ICustomerGrain>(GrainKeys.Customer(c)).GetContractsAsync()));
        var contractsOf = customers.Zip(terms).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

        var buckets = batch.Events
            .GroupBy(e => (e.CustomerId, Day: DateOnly.FromDateTime(e.Timestamp.UtcDateTime)))
            .Select(g => GrainFactory.GetGrain<IUsageBucketGrain>(GrainKeys.UsageBucket(g.Key.CustomerId, g.Key.Day)).RecordAsync(g
                .Select(e => new MeteredEvent(e.EventId, e.Model, prices.RateAt(e.Model, e.Timestamp)!, e.InputTokens, e.OutputTokens, LedgerOf(e, contractsOf[e.CustomerId]), e.DeploymentId))
                .ToList()));
        var results = await Task.WhenAll(buckets);
        await TellPayAsYouGoAsync(batch, contractsOf);
        var accepted = results.Sum(r => r.Accepted);
        if (accepted > 0)
        {
            HintContracts(batch, contractsOf);
        }

        return new IngestResult(accepted, results.Sum(r => r.Duplicates), null);
    }

    /// <summary>
    /// Tells each customer's pay-as-you-go book the months of the batch's events no contract covers, after the buckets
    /// stored them (so a month's close, which waits for this call or comes after it, sees them in a sealed day at worst:
    /// late usage) and before the batch is acknowledged (a failure here fails the batch, and its resend tells again,
    /// duplicates and all). Awaited: the months are what makes a close happen at all.
    /// </summary>
    private Task TellPayAsYouGoAsync(UsageBatch batch, Dictionary<string, List<ContractTerm>> contractsOf)
    {
        Dictionary<string, HashSet<DateOnly>>? months = null;
        foreach (var e in batch.Events)
        {
            if (CoveringContract(e, contractsOf[e.CustomerId]) is not null)
            {
                continue;
            }

            months ??= new(StringComparer.Ordinal);
            if (!months.TryGetValue(e.CustomerId, out var ofCustomer))
            {
                ofCustomer = [];
                months[e.CustomerId] = ofCustomer;
            }

            ofCustomer.Add(BillingMonths.Of(e.Timestamp));
        }

        return months is null
            ? Task.CompletedTask
            : Task.WhenAll(months.Select(m => GrainFactory.GetGrain<IPayAsYouGoGrain>(GrainKeys.PayAsYouGo(m.Key)).UsageRecordedAsync(m.Value.Order().ToList())));
    }

    /// <summary>Tells the contracts the batch's events fall in that usage was counted (they check their commit thresholds).</summary>
    private void HintContracts(UsageBatch batch, Dictionary<string, List<ContractTerm>> contractsOf)
    {
        foreach (var (customerId, contracts) in contractsOf)
        {
            if (contracts.Count == 0)
            {
                continue;
            }

            DateTimeOffset first = DateTimeOffset.MaxValue, last = DateTimeOffset.MinValue;
            foreach (var e in batch.Events)
            {
                if (string.Equals(e.CustomerId, customerId, StringComparison.Ordinal))
                {
                    first = e.Timestamp < first ? e.Timestamp : first;
                    last = e.Timestamp > last ? e.Timestamp : last;
                }
            }

            foreach (var contract in contracts.Where(c => c.Start <= last && first < c.End))
            {
                // One-way: a hint, never waited for, never on the batch's answer.
                _ = GrainFactory.GetGrain<IContractGrain>(GrainKeys.Contract(contract.ContractId)).UsageRecordedAsync();
            }
        }
    }

    private static string LedgerOf(UsageEvent e, List<ContractTerm> contracts) =>
        CoveringContract(e, contracts) is { } contract ? GrainKeys.ContractLedger(contract.ContractId) : GrainKeys.PayAsYouGoLedger(e.CustomerId);

    // Called for every event (twice): a plain loop, no delegate.
    private static ContractTerm? CoveringContract(UsageEvent e, List<ContractTerm> contracts)
    {
        foreach (var contract in contracts)
        {
            if (contract.Covers(e.Timestamp))
            {
                return contract;
            }
        }

        return null;
    }
}
