using ControlPlane.Server.Tests.Hosting;

namespace ControlPlane.Server.Tests.Commits;

/// <summary>Quarters close only when an operator closes them (invoice approval): tests drive every close.</summary>
public sealed class ManualCloseServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Billing:AutoCloseQuarters"] = "false",
})
{
    public const string CollectionName = "Billing server, manual quarter close";
}

/// <summary>
/// Quarters close by the durable reminder, checked every 5 seconds, with no grace for late events. The
/// first check comes 5 s after a contract is created: time enough for a test to send its on-time usage first.
/// </summary>
public sealed class AutoCloseServerFixture() : ServerFixture(new Dictionary<string, string>
{
    ["Billing:AutoCloseQuarters"] = "true",
    ["Billing:LateUsageGraceDays"] = "0",
    ["Billing:AutoCloseCheckSeconds"] = "5",
})
{
    public const string CollectionName = "Billing server, automatic quarter close";
}

[CollectionDefinition(ManualCloseServerFixture.CollectionName)]
public sealed class ManualCloseServerCollection : ICollectionFixture<ManualCloseServerFixture>;

[CollectionDefinition(AutoCloseServerFixture.CollectionName)]
public sealed class AutoCloseServerCollection : ICollectionFixture<AutoCloseServerFixture>;
