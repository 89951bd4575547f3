#!/usr/bin/env node
// Same CLI as bin/run.js (the built one): kept for the oclif convention.
import './run.js'
