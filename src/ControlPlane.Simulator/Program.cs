Console.WriteLine("simulator: not yet implemented (see issue 5)");
