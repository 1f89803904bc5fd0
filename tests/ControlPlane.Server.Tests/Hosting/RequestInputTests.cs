using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>Input that would be stored is refused whole, as a 400 ProblemDetails that names the field, and changes nothing.</summary>
[Collection(EmbeddedServerFixture.CollectionName)]
public sealed class RequestInputTests(EmbeddedServerFixture fixture)
{
    private ServerProcess Server => fixture.Server;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> ExpectBadRequestAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        var problem = await response.ProblemAsync();
        Assert.True(problem["errors"]?[field] is not null, $"no error for '{field}': {text}");
        return problem;
    }

    [Fact]
    public async Task Enroll_DuplicateKey_Is400NamingTheFieldAndEnrollsNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", Json(
            """{"nodeId":"input-dup","region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":"1.00","hourlyCostUsd":"0.01"}"""));

        await ExpectBadRequestAsync(response, "hourlyCostUsd");
        using var get = await admin.GetAsync("/admin/v1/nodes/input-dup");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Deployment_DuplicateKey_Is400NamingTheFieldAndCreatesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/deployments", Json(
            """{"deploymentId":"input-dup","deploymentId":"input-dup-2","model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}"""));

        await ExpectBadRequestAsync(response, "deploymentId");
        foreach (var id in new[] { "input-dup", "input-dup-2" })
        {
            using var get = await admin.GetAsync($"/admin/v1/deployments/{id}");
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }
    }

    [Fact]
    public async Task Heartbeat_DuplicateKeyInANestedObject_Is400NamingTheField()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("input-dup-hb");
        using var node = Server.CreateClient(token);
        using var response = await node.PostAsync($"/agent/v1/nodes/{nodeId}/heartbeat", Json(
            """{"sequence":1,"agentSessionId":"s","agentVersion":"t","gpus":[{"index":0,"uuid":"GPU-1","uuid":"GPU-2","name":"NVIDIA H100 80GB HBM3","memoryTotalMiB":81559}],"replicas":[]}"""));

        await ExpectBadRequestAsync(response, "gpus[0].uuid");
        Assert.Equal(0, (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["gpuCount"]!.GetValue<int>());
    }

    public static TheoryData<string> DotIds => new() { ".", "..", "...", "%2e%2e" };

    [Theory]
    [MemberData(nameof(DotIds))]
    public async Task Create_DotIdInABody_Is400AndStoresNothing(string id)
    {
        using var admin = Server.CreateOperatorClient();
        var quoted = System.Text.Json.JsonSerializer.Serialize(id);

        using (var deployment = await admin.PostAsync("/admin/v1/deployments", Json(
            $$"""{"deploymentId":{{quoted}},"model":"m","class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""")))
        {
            await ExpectBadRequestAsync(deployment, "deploymentId");
        }

        using (var dedicated = await admin.PostAsync("/admin/v1/deployments", Json(
            $$"""{"deploymentId":"input-dot-ded","model":"m","class":"dedicated","customerId":{{quoted}},"gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""")))
        {
            await ExpectBadRequestAsync(dedicated, "customerId");
        }

        using (var skus = await admin.PostAsync("/admin/v1/deployments", Json(
            $$"""{"deploymentId":"input-dot-skus","model":"m","class":"batch","skus":[{{quoted}}],"gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""")))
        {
            await ExpectBadRequestAsync(skus, "skus");
        }

        using (var contract = await admin.PostAsync("/admin/v1/contracts", Json(
            $$"""{"contractId":{{quoted}},"customerId":"input-dot-cust","startDate":"2026-01-01","quarters":4,"quarterlyCommitUsd":"100.00","discountPercent":10}""")))
        {
            await ExpectBadRequestAsync(contract, "contractId");
        }

        using (var customer = await admin.PostAsync("/admin/v1/contracts", Json(
            $$"""{"contractId":"input-dot-contract","customerId":{{quoted}},"startDate":"2026-01-01","quarters":4,"quarterlyCommitUsd":"100.00","discountPercent":10}""")))
        {
            await ExpectBadRequestAsync(customer, "customerId");
        }

        using (var node = await admin.PostAsync("/admin/v1/nodes", Json(
            $$"""{"nodeId":{{quoted}},"region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":"1.00"}""")))
        {
            await ExpectBadRequestAsync(node, "nodeId");
        }

        foreach (var gone in new[] { "/admin/v1/deployments/input-dot-ded", "/admin/v1/deployments/input-dot-skus", "/admin/v1/contracts/input-dot-contract" })
        {
            using var get = await admin.GetAsync(gone);
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/deployments")).AsArray(), d => !Ids(d!["deploymentId"]!.GetValue<string>()));
        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/nodes")).AsArray(), n => !Ids(n!["nodeId"]!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(DotIds))]
    public async Task Path_DotId_Is4xxProblemAndStoresNothing(string id)
    {
        using var admin = Server.CreateOperatorClient();
        var partner = """{"models":["m"],"usdPer1MTokens":"1.00","capacityTokensPerSecond":10}""";
        using (var put = await admin.PutAsync($"/admin/v1/partners/{id}", Json(partner)))
        {
            Assert.True(put.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"PUT partner {id}: {(int)put.StatusCode}");
        }

        using (var trueUp = await admin.PostAsync($"/admin/v1/contracts/{id}/true-ups", Json("""{"additionalQuarterlyCommitUsd":"1.00","effectiveQuarter":1}""")))
        {
            Assert.True(trueUp.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"true-up {id}: {(int)trueUp.StatusCode}");
        }

        using (var cordon = await admin.PostAsync($"/admin/v1/nodes/{id}/cordon", null))
        {
            Assert.True(cordon.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"cordon {id}: {(int)cordon.StatusCode}");
        }

        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/partners")).AsArray(), p => !Ids(p!["partnerId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Partner_DotIdInThePath_Is400()
    {
        using var admin = Server.CreateOperatorClient();
        using var put = await admin.PutAsync("/admin/v1/partners/.x", Json("""{"models":["m"],"usdPer1MTokens":"1.00","capacityTokensPerSecond":10}"""));
        await ExpectBadRequestAsync(put, "partnerId");
    }

    public static TheoryData<string, string> InexactAmounts => new()
    {
        { "a", "\"1e3\"" },
        { "b", "1e3" },
        { "c", "\"12.0000000000000000000000000001\"" },
        { "d", "12.0000000000000000000000000001" },
        { "e", "\"1e-30\"" },
        { "f", "0.000000000000000000000000000001" },
    };

    [Theory]
    [MemberData(nameof(InexactAmounts))]
    public async Task Money_ExponentOrBeyondDecimalPrecision_Is400AndStoresNothing(string suffix, string amount)
    {
        using var admin = Server.CreateOperatorClient();
        var key = $"input-money-{suffix}";

        using (var contract = await admin.PostAsync("/admin/v1/contracts", Json(
            $$"""{"contractId":"{{key}}","customerId":"{{key}}","startDate":"2026-01-01","quarters":4,"quarterlyCommitUsd":{{amount}},"discountPercent":10}""")))
        {
            await ExpectBadRequestAsync(contract, "quarterlyCommitUsd");
        }

        using (var price = await admin.PutAsync($"/admin/v1/prices/{key}", Json($$"""{"inputUsdPer1M":{{amount}},"outputUsdPer1M":"1.00"}""")))
        {
            await ExpectBadRequestAsync(price, "inputUsdPer1M");
        }

        using (var partner = await admin.PutAsync($"/admin/v1/partners/{key}", Json($$"""{"models":["m"],"usdPer1MTokens":{{amount}},"capacityTokensPerSecond":10}""")))
        {
            await ExpectBadRequestAsync(partner, "usdPer1MTokens");
        }

        using (var node = await admin.PostAsync("/admin/v1/nodes", Json(
            $$"""{"nodeId":"{{key}}","region":"eu-west","provider":"own-dc","ownership":"owned","hourlyCostUsd":{{amount}}}""")))
        {
            await ExpectBadRequestAsync(node, "hourlyCostUsd");
        }

        foreach (var gone in new[] { $"/admin/v1/contracts/{key}", $"/admin/v1/partners/{key}", $"/admin/v1/nodes/{key}" })
        {
            using var get = await admin.GetAsync(gone);
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        Assert.DoesNotContain((await admin.GetJsonAsync("/admin/v1/prices")).AsArray(), p => p!["model"]!.GetValue<string>() == key);
    }

    [Fact]
    public async Task TrueUp_ExponentOrBeyondDecimalPrecision_Is400AndChangesNothing()
    {
        using var admin = Server.CreateOperatorClient();
        using (var created = await admin.PostAsync("/admin/v1/contracts", Json(
            """{"contractId":"input-trueup","customerId":"input-trueup","startDate":"2026-01-01","quarters":4,"quarterlyCommitUsd":"100.00","discountPercent":10}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var before = (await admin.GetJsonAsync("/admin/v1/contracts/input-trueup")).ToJsonString();
        foreach (var amount in new[] { "\"1e3\"", "1E3", "\"12.0000000000000000000000000001\"" })
        {
            using var trueUp = await admin.PostAsync("/admin/v1/contracts/input-trueup/true-ups", Json($$"""{"additionalQuarterlyCommitUsd":{{amount}},"effectiveQuarter":1}"""));
            await ExpectBadRequestAsync(trueUp, "additionalQuarterlyCommitUsd");
        }

        Assert.Equal(before, (await admin.GetJsonAsync("/admin/v1/contracts/input-trueup")).ToJsonString());
    }

    [Fact]
    public async Task Money_PlainAmounts_AreStillTaken()
    {
        using var admin = Server.CreateOperatorClient();
        using var price = await admin.PutAsync("/admin/v1/prices/input-plain", Json("""{"inputUsdPer1M":"0.000001","outputUsdPer1M":2.50}"""));
        Assert.Equal(HttpStatusCode.OK, price.StatusCode);
        var stored = (await admin.GetJsonAsync("/admin/v1/prices")).AsArray().Single(p => p!["model"]!.GetValue<string>() == "input-plain")!;
        Assert.Equal(0.000001m, stored["inputUsdPer1M"]!.GetValue<decimal>());
        Assert.Equal(2.5m, stored["outputUsdPer1M"]!.GetValue<decimal>());
    }

    public static TheoryData<string?, string?> UnreadableEnrollments => new()
    {
        { null, null },
        { "", "application/json" },
        { "", null },
        { "   ", "application/json" },
        { "[]", "application/json" },
        { "{", "application/json" },
        { """{"nodeId":5}""", "application/json" },
        { """{"nodeId":"input-x","gpus":{}}""", "application/json" },
        { """{"nodeId":"input-x","hourlyCostUsd":{}}""", "application/json" },
        { "nodeId=input-x", "application/x-www-form-urlencoded" },
    };

    [Theory]
    [MemberData(nameof(UnreadableEnrollments))]
    public async Task Enroll_UnreadableBody_Is400ThatNamesNoDotNetType(string? body, string? contentType)
    {
        using var admin = Server.CreateOperatorClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/nodes");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, $"{(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("ControlPlane.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("EnrollNodeRequest", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Service instead", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enroll_EmptyBody_SaysABodyIsRequired()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", Json(""));
        var problem = (await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("JSON body is required", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"leased\"")]
    [InlineData("0")]
    [InlineData("\"\"")]
    public async Task Enroll_UnknownEnumValue_Is400ListingTheAllowedValues(string ownership)
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", Json(
            $$"""{"nodeId":"input-enum","region":"eu-west","provider":"own-dc","ownership":{{ownership}},"hourlyCostUsd":"1.00"}"""));

        var problem = await ExpectBadRequestAsync(response, "ownership");
        var message = problem["errors"]!["ownership"]![0]!.GetValue<string>();
        Assert.Contains("owned", message, StringComparison.Ordinal);
        Assert.Contains("rented", message, StringComparison.Ordinal);
        Assert.DoesNotContain("ControlPlane.", problem.ToJsonString(), StringComparison.Ordinal);
        using var get = await admin.GetAsync("/admin/v1/nodes/input-enum");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Enroll_EnumNameInAnyCase_IsStillTakenAndShownCamelCase()
    {
        using var admin = Server.CreateOperatorClient();
        using var response = await admin.PostAsync("/admin/v1/nodes", Json(
            """{"nodeId":"input-enum-case","region":"eu-west","provider":"own-dc","ownership":"Rented","hourlyCostUsd":"1.00"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("rented", (await admin.GetJsonAsync("/admin/v1/nodes/input-enum-case"))["ownership"]!.GetValue<string>());
    }

    public static TheoryData<string, string> UnsafeTexts => new()
    {
        { "nul", "own\u0000dc" },
        { "crlf", "own\r\nX-Forged: yes" },
        { "esc", "own\u001b[31mdc" },
        { "rlo", "\u202Ecd-nwo" },
        { "isolate", "own\u2066dc\u2069" },
        { "long", new string('a', 300) },
    };

    [Theory]
    [MemberData(nameof(UnsafeTexts))]
    public async Task StoredText_ControlBidiOrTooLong_Is400AndStoresNothing(string name, string text)
    {
        using var admin = Server.CreateOperatorClient();
        var quoted = System.Text.Json.JsonSerializer.Serialize(text);

        using (var enroll = await admin.PostAsync("/admin/v1/nodes", Json(
            $$"""{"nodeId":"input-text-{{name}}","region":"eu-west","provider":{{quoted}},"ownership":"owned","hourlyCostUsd":"1.00"}""")))
        {
            await ExpectBadRequestAsync(enroll, "provider");
        }

        using (var get = await admin.GetAsync($"/admin/v1/nodes/input-text-{name}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        }

        using (var deployment = await admin.PostAsync("/admin/v1/deployments", Json(
            $$"""{"deploymentId":"input-text-{{name}}","model":{{quoted}},"class":"batch","gpusPerReplica":1,"maxReplicas":1,"tokensPerSecondPerReplica":1}""")))
        {
            await ExpectBadRequestAsync(deployment, "model");
        }

        using (var partner = await admin.PutAsync($"/admin/v1/partners/input-text-{name}", Json(
            $$"""{"models":[{{quoted}}],"usdPer1MTokens":"1.00","capacityTokensPerSecond":10}""")))
        {
            await ExpectBadRequestAsync(partner, "models");
        }

        var (nodeId, token) = await admin.EnrollAsync($"input-text-hb-{name}");
        using var node = Server.CreateClient(token);
        var gpu = $$"""{"index":0,"uuid":"GPU-0","name":"NVIDIA H100 80GB HBM3","memoryTotalMiB":81559}""";
        var bodies = new (string Body, string Field)[]
        {
            ($$"""{"sequence":1,"agentSessionId":"s","agentVersion":{{quoted}},"gpus":[{{gpu}}],"replicas":[]}""", "agentVersion"),
            ($$"""{"sequence":1,"agentSessionId":{{quoted}},"agentVersion":"t","gpus":[{{gpu}}],"replicas":[]}""", "agentSessionId"),
            ($$"""{"sequence":1,"agentSessionId":"s","agentVersion":"t","gpus":[{"index":0,"uuid":"GPU-0","name":{{quoted}},"memoryTotalMiB":81559}],"replicas":[]}""", "gpus[0]"),
            ($$"""{"sequence":1,"agentSessionId":"s","agentVersion":"t","gpus":[{"index":0,"uuid":{{quoted}},"name":"NVIDIA H100 80GB HBM3","memoryTotalMiB":81559}],"replicas":[]}""", "gpus[0]"),
            ($$$"""{"sequence":1,"agentSessionId":"s","agentVersion":"t","gpus":[{{{gpu}}}],"replicas":[],"modelCache":{"freeBytes":1,"models":[{"model":{{{quoted}}},"bytes":1}]}}""", "modelCache.models[0]"),
        };
        foreach (var (body, field) in bodies)
        {
            using var heartbeat = await node.PostAsync($"/agent/v1/nodes/{nodeId}/heartbeat", Json(body));
            await ExpectBadRequestAsync(heartbeat, field);
        }

        var stored = await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}");
        Assert.Equal(0, stored["gpuCount"]!.GetValue<int>());
        Assert.Null(stored["lastHeartbeatAt"]);
    }

    [Fact]
    public async Task Heartbeat_InventoryErrorOnSeveralLines_IsStoredCleaned()
    {
        using var admin = Server.CreateOperatorClient();
        var (nodeId, token) = await admin.EnrollAsync("input-text-inventory");
        using var node = Server.CreateClient(token);
        using var heartbeat = await node.PostAsync($"/agent/v1/nodes/{nodeId}/heartbeat", Json(
            """{"sequence":1,"agentSessionId":"s","agentVersion":"t","inventoryError":"nvidia-smi failed:\r\nNVML\u0000 not found\u202E","gpus":[],"replicas":[]}"""));
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);

        var error = (await admin.GetJsonAsync($"/admin/v1/nodes/{nodeId}"))["inventoryError"]!.GetValue<string>();
        Assert.Equal("nvidia-smi failed:  NVML  not found ", error);
    }

    /// <summary>Whether a listed id can be addressed in a path again (no stored id may start with a dot).</summary>
    private static bool Ids(string id) => id.Length > 0 && char.IsAsciiLetterOrDigit(id[0]);
}
