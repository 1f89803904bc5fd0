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

    /// <summary>The id part of a prefixed key.</summary>
    public static string IdOf(string key) => key[(key.IndexOf(':') + 1)..];
}
