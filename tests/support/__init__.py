"""What many test files share, in one place: message builders (:mod:`.messages`), valid ID numbers
(:mod:`.ids`), a registry application (:mod:`.applications`), the injected clock (:mod:`.clock`),
fake services for handlers (:mod:`.fakes`) and the app as WeChat sees it (:mod:`.app`).
WeChat's own API has its local stand-in in ``tests/fake_wechat_api.py``."""
