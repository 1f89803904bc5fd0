namespace ControlPlane.Contracts;

/// <summary>
/// Grain keys with a kind prefix. Orleans' ADO.NET storage stores a string key that parses as hexadecimal
/// as an integer (so "0a1" and "a1" would share state); a prefix that is not hex rules that out.
/// </summary>
public static class GrainKeys
{
    public static string Node(string nodeId) => "node:" + nodeId;

    public static string Pool(string region) => "pool:" + region;

    /// <summary>The one directory of regions and nodes (touched on enrollment only, never on heartbeats).</summary>
    public const string FleetDirectory = "fleet:directory";

    public const string PriceList = "prices:list";

    /// <summary>The one directory of distribution partners (changed by operators, read through per-silo caches).</summary>
    public const string PartnerDirectory = "partners:directory";

    /// <summary>The one registry of issued gateway, customer and operator tokens (read through per-silo copies).</summary>
    public const string TokenRegistry = "tokens:registry";

    /// <summary>One join token: its terms and the enrolments made with it.</summary>
    public static string JoinToken(string tokenId) => "join:" + tokenId;

    public static string Deployment(string deploymentId) => "deployment:" + deploymentId;

    /// <summary>
    /// The one scheduler: it makes every placement decision, one at a time, so reservations are honoured fleet-wide.
    /// It hears from nodes and deployments only on changes (never per heartbeat or per demand signal that changes nothing).
    /// </summary>
    public const string Scheduler = "scheduler:fleet";

    /// <summary>
    /// The routing answer's read model of a deployment (in memory): the scheduler pushes it when its routes change, and
    /// the gateway's routing reads it without calling the scheduler.
    /// </summary>
    public static string DeploymentRoutes(string deploymentId) => "routes:" + deploymentId;

    /// <summary>The durable SLO minute verdicts of a dedicated deployment (kept after the deployment is deleted: its credits need them).</summary>
    public static string SloMeter(string deploymentId) => "slo:" + deploymentId;

    public static string Contract(string contractId) => "contract:" + contractId;

    public static string Customer(string customerId) => "customer:" + customerId;

    /// <summary>A customer's pay-as-you-go book: its months, their closes and invoices.</summary>
    public static string PayAsYouGo(string customerId) => "payg:" + customerId;

    /// <summary>A customer's webhooks and the outbox of events on their way to them.</summary>
    public static string Webhooks(string customerId) => "webhooks:" + customerId;

    /// <summary>The usage ledger of a contract.</summary>
    public static string ContractLedger(string contractId) => "c-" + contractId;

    /// <summary>The usage ledger of a customer billed pay-as-you-go (no contract covers the usage).</summary>
    public static string PayAsYouGoLedger(string customerId) => "p-" + customerId;

    /// <summary>
    /// One customer's usage on one UTC day, whichever ledger it belongs to: event ids are remembered per
    /// customer-day, so an event resent after a contract took over its day is still a duplicate.
    /// </summary>
    public static string UsageBucket(string customerId, DateOnly day) =>
        "usage:" + customerId + ":" + day.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The id part of a prefixed key.</summary>
    public static string IdOf(string key) => key[(key.IndexOf(':') + 1)..];
}
