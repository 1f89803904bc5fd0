using ControlPlane.Simulator.Live;

namespace ControlPlane.Simulator.Tests.Live;

public sealed class LiveRunTests
{
    [Fact]
    public void TokenForCurl_TokenGivenWithFlag_PrintsTheTokenSoPastedLinesWork()
    {
        // `live --token T` with the variable unset (or holding another token): "$CONTROLPLANE_OPERATOR_TOKEN" would be
        // empty where the lines are pasted, and every call would get 401.
        Assert.Equal("cp-secret", LiveRun.TokenForCurl("cp-secret", null));
        Assert.Equal("cp-secret", LiveRun.TokenForCurl("cp-secret", "cp-other"));
    }

    [Fact]
    public void TokenForCurl_TokenFromTheVariable_NamesTheVariableNotTheSecret()
    {
        Assert.Equal("$CONTROLPLANE_OPERATOR_TOKEN", LiveRun.TokenForCurl("cp-secret", " cp-secret\n"));
    }

    [Fact]
    public void PrintWhereToLook_TokenFromFlag_EveryCurlLineCarriesIt()
    {
        using var output = new StringWriter();
        LiveRun.PrintWhereToLook(output, "[live]", new Uri("http://127.0.0.1:5000/"), LiveRun.TokenForCurl("cp-secret", null));

        var curls = output.ToString().Split('\n').Where(l => l.Contains("/admin/v1/", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(curls);
        Assert.All(curls, l => Assert.Contains("Bearer cp-secret", l, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0, "batches")]
    [InlineData(1, "batch")]
    [InlineData(2, "batches")]
    public void Plural_Count_NounAgrees(long count, string expected) =>
        Assert.Equal(expected, GatewayTraffic.Plural(count, "batch", "batches"));
}
