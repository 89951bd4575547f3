// Loaded before every test file: no test may reach anything but loopback, and no cloud SDK
// credential chain may probe the instance-metadata address.
process.env.AWS_EC2_METADATA_DISABLED = 'true'
process.env.METADATA_SERVER_DETECTION = 'none'
process.env.AWS_ACCESS_KEY_ID ??= 'AKIDTESTFAKE'
process.env.AWS_SECRET_ACCESS_KEY ??= 'fake-secret-for-tests'
